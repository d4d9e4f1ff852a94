"""The curation tier: Django, in-process gateway routing, respx upstreams."""

from tests.fixtures import gateway, gateway_settings, recorded, upstream  # noqa: F401
