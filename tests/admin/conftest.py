"""The admin tier: Django test client with a staff session."""

from tests.fixtures import gateway_settings  # noqa: F401
