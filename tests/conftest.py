"""Shared fixtures and the hypothesis profiles.

The one fixture is a hand-advanced ``clock``. Two links back to back are
:class:`tests.linkpair.LinkPair` (each test builds the two it needs, with its own seeds);
random bytes come from :func:`pyppp.util.seeded_rng` with the seed the test names.

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``default`` (what CI runs), ``deep`` (ten times
the examples) and ``fuzz`` (a hundred times, for a long campaign); tests that set their own
``max_examples`` keep them under ``default``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None)
settings.register_profile(
    "deep", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", deadline=None, max_examples=10000, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


class Clock:
    """A simulated clock: tests advance it by hand; nothing reads the wall clock."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> float:
        """Move forward; return the new time."""
        self.now += seconds
        return self.now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A simulated clock starting at 0."""
    return Clock()
