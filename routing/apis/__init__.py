"""The client APIs, one package each. Requests are recorded under the service of the API
they came in by (embeddings and pass-through belong to the API whose paths they serve)."""

SERVICES = ("openai", "ollama", "anthropic", "responses")
KINDS = ("chat", "text", "embeddings", "passthrough")
