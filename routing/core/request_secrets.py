"""The secrets one request carries or causes, for the redaction of whatever is kept of it."""

from __future__ import annotations

from django.conf import settings

from routing.core.exchange import Exchange
from routing.core.redaction import secret_field_values, secret_values


def secrets_of(exchange: Exchange) -> list[str]:
    """Its secret headers, its secret body fields, and the keys of every upstream it may be
    sent to (worked out once, when first needed: a failure, or the recorder)."""
    if exchange.secrets is None:
        decision = exchange.decision
        keys = [decision.upstream.api_key, *(t.upstream.api_key for t in decision.targets)]
        exchange.secrets = secret_values(
            exchange.request_headers,
            *keys,
            settings.OPENAI_API_KEY,
            *secret_field_values(exchange.raw_request),
        )
    return exchange.secrets
