"""The Django tier of the protection features."""

from tests.fixtures import gateway, gateway_settings, recorded, upstream  # noqa: F401
