"""The Django tier of the dashboard."""

from tests.fixtures import gateway, gateway_settings, recorded, upstream  # noqa: F401
