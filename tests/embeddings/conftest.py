"""The Django tier of embeddings and pass-through: in-process gateway, respx upstreams."""

from tests.fixtures import gateway, gateway_settings, recorded, upstream  # noqa: F401
