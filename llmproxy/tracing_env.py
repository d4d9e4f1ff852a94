"""OpenTelemetry's standard variables, read and checked once (tracing is off unless an OTLP
endpoint is set). A bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from llmproxy.env import env_bool, env_str

SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
PROTOCOLS = ("http/protobuf", "grpc")


@dataclass(frozen=True)
class TracingConfig:
    enabled: bool = False
    endpoint: str = ""  # the traces endpoint itself (…/v1/traces for HTTP)
    protocol: str = "http/protobuf"
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    service_name: str = "llmproxy"
    sampler: str = "parentbased_always_on"
    ratio: float = 1.0
    capture_content: bool = False
    queue_size: int = 2048
    batch_size: int = 512
    delay_seconds: float = 5.0
    timeout_seconds: float = 10.0


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name}: expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _pairs(name: str) -> dict[str, str]:
    """`key=value,key2=value2` with URL-encoded values (the OTLP headers' syntax)."""
    raw = env_str(name)
    found: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ImproperlyConfigured(f"{name}: expected key=value pairs, got {item!r}")
        found[unquote(key.strip()).lower()] = unquote(value.strip())
    return found


def _number(name: str, default: float, low: float, high: float) -> float:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}: expected a number from {low:g} to {high:g}")
    return value


def _choice(names: tuple[str, ...], default: str, choices: tuple[str, ...]) -> str:
    value = env_str(*names).lower() or default
    if value not in choices:
        raise ImproperlyConfigured(
            f"{next((n for n in names if n in os.environ), names[0])}: expected one of "
            f"{', '.join(choices)}, got {value!r}"
        )
    return value


def read_tracing_config() -> TracingConfig:
    traces = env_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = env_str("OTEL_EXPORTER_OTLP_ENDPOINT")
    protocol = _choice(
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        "http/protobuf",
        PROTOCOLS,
    )
    if traces:
        endpoint = _url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces)
    elif base:
        endpoint = _url("OTEL_EXPORTER_OTLP_ENDPOINT", base)
        endpoint += "/v1/traces" if protocol == "http/protobuf" else ""
    else:
        endpoint = ""
    headers = {
        **_pairs("OTEL_EXPORTER_OTLP_HEADERS"),
        **_pairs("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
    }
    _pairs("OTEL_RESOURCE_ATTRIBUTES")  # read by the SDK itself; checked here
    sampler = _choice(("OTEL_TRACES_SAMPLER",), "parentbased_always_on", SAMPLERS)
    disabled = env_bool("OTEL_SDK_DISABLED", False) or env_str("OTEL_TRACES_EXPORTER") == "none"
    return TracingConfig(
        enabled=bool(endpoint) and not disabled,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        service_name=env_str("OTEL_SERVICE_NAME") or "llmproxy",
        sampler=sampler,
        ratio=_number("OTEL_TRACES_SAMPLER_ARG", 1.0, 0.0, 1.0) if "ratio" in sampler else 1.0,
        capture_content=env_bool("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", False),
        queue_size=int(_number("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1_000_000)),
        batch_size=int(_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 100_000)),
        delay_seconds=_number("OTEL_BSP_SCHEDULE_DELAY", 5000, 1, 3_600_000) / 1000,
        timeout_seconds=_number("OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1, 600_000) / 1000,
    )
