"""When to try a failed delivery again, and when to stop and leave it to an admin (the dead-letter state)."""

from __future__ import annotations

import random
from datetime import timedelta

MAX_ATTEMPTS = 10
"""Attempts before a message is dead: with `backoff`, about three hours of trying."""

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after `attempts` failed attempts: 30 s doubling each time up to 1 h, less up to half.

    The random half ("equal jitter") spreads out the retries of messages that failed together, so a
    receiver coming back from an outage is not hit by all of them in the same second.
    """
    doublings = min(max(attempts, 1) - 1, 20)
    ceiling = min(FIRST_RETRY * 2**doublings, LONGEST_WAIT)
    share = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=round(ceiling.total_seconds() * share, 3))
