"""A scripted OpenAI-style model server for people trying the gateway, and for its tests and
benchmarks (`manage.py fakeupstream`, `make fake-upstream`). Not part of the request path."""

from routing.fake_upstream.server import DEFAULT_MODELS, FakeUpstream, run

__all__ = ["DEFAULT_MODELS", "FakeUpstream", "run"]
