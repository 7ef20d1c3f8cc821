"""A duration is written back in the units a policy file reads: hours, minutes, seconds and business days."""

from __future__ import annotations

import pytest

from sladesk.clock.durations import Duration, parse_duration


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("24h", "24h"),
        ("24 hours", "24h"),
        ("36h", "36h"),
        ("90m", "1h 30m"),
        ("1h 0m 5s", "1h 5s"),
        ("30m", "30m"),
        ("0m", "0m"),
        ("1 business day", "1 business day"),
        ("3 business days", "3 business days"),
        ("0.5 business days", "0.5 business days"),
        ("2.125 business days", "2.125 business days"),
    ],
)
def test_a_duration_is_shown_as_a_policy_writes_it_and_reads_back(written, shown):
    duration = parse_duration(written)
    assert str(duration) == shown
    assert parse_duration(shown) == duration


def test_a_day_of_hours_is_not_shown_in_days_a_policy_cannot_read():
    assert str(Duration(seconds=86_400 + 3_600)) == "25h"
