"""OpenTelemetry traces of the gateway's requests (GenAI conventions), exported by OTLP."""
