"""The routing app's admin pages (Django imports this package; each module registers its own)."""

from routing.admin import configuration, kept  # noqa: F401
