"""Hypothesis for the fuzz tests: a bounded number of examples, derandomized so CI sees the same inputs."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    database=None,  # nothing written next to the sources; derandomize makes each run the same anyway
    # The web fixtures (app, logged-in client) are made once per test and shared by its examples: reads only.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("fuzz")
