"""The upstreams' health for the pages: every configured upstream, with what is known of it."""

from __future__ import annotations

from routing.config.current import loaded_rules
from routing.upstreams.health import health


def upstream_health() -> list[dict]:
    known = {row["upstream"]: row for row in health.snapshot()}
    out = []
    for upstream in loaded_rules().upstreams:
        row = known.pop(upstream.name, None) or {
            "upstream": upstream.name,
            "status": "unknown",
            "failures": 0,
            "inflight": 0,
            "cooldown_seconds": 0,
            "last_error": "",
            "last_failure": None,
            "last_success": None,
        }
        out.append({**row, "base_url": upstream.base_url})
    return out
