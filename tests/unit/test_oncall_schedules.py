"""On-call schedules: exact shifts worked out by hand, DST changes included.

The DST changes used (2026):
- America/New_York springs forward on Sunday 8 March at 02:00 EST (07:00 UTC) to 03:00 EDT,
  and falls back on Sunday 1 November at 02:00 EDT (06:00 UTC) to 01:00 EST.
- Europe/London springs forward on Sunday 29 March at 01:00 GMT (01:00 UTC) to 02:00 BST,
  and falls back on Sunday 25 October at 02:00 BST (01:00 UTC) to 01:00 GMT.
EST is UTC-5, EDT UTC-4, GMT UTC+0, BST UTC+1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from sladesk.errors import CalendarError
from sladesk.oncall import (
    AddOverride,
    Layer,
    Override,
    RemoveOverride,
    ReplaceOverride,
    Restriction,
    RotationLength,
    Schedule,
    ScheduleError,
    Shift,
    final_schedule,
    gaps,
    layer_shifts,
    next_change,
    on_call_at,
    parse_rotation,
    who_is_next,
)

NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def one_layer(zone: str, **layer: object) -> Schedule:
    return Schedule.model_validate({"id": "support", "timezone": zone, "layers": [{"id": "primary", **layer}]})


def hours(shift: Shift) -> float:
    return (shift.end - shift.start) / timedelta(hours=1)


def table(shifts: list[Shift]) -> list[tuple[datetime, datetime, set[int]]]:
    return [(shift.start, shift.end, set(shift.people)) for shift in shifts]


# --- DST: hand-offs follow the wall clock ----------------------------------------------------------


def test_daily_9am_handoff_in_new_york_stays_9am_and_the_spring_forward_shift_lasts_23_hours() -> None:
    # 09:00 EST on Sat 7 March is 14:00 UTC; 09:00 EDT on Sun 8 March is 13:00 UTC (23 h later);
    # 09:00 EDT on Mon 9 March is 13:00 UTC (24 h later). People rotate 1, 2, 3 from Fri 6 March.
    schedule = one_layer("America/New_York", start="2026-03-06T09:00", rotation="daily", people=[1, 2, 3])
    shifts = final_schedule(schedule, [], utc(2026, 3, 7, 14), utc(2026, 3, 9, 13))
    assert table(shifts) == [
        (utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), {2}),
        (utc(2026, 3, 8, 13), utc(2026, 3, 9, 13), {3}),
    ]
    assert [hours(shift) for shift in shifts] == [23, 24]
    assert [shift.start.astimezone(NEW_YORK).hour for shift in shifts] == [9, 9]


def test_daily_9am_handoff_in_new_york_fall_back_shift_lasts_25_hours() -> None:
    # 09:00 EDT on Sat 31 October is 13:00 UTC; 09:00 EST on Sun 1 November is 14:00 UTC (25 h).
    schedule = one_layer("America/New_York", start="2026-10-31T09:00", rotation="daily", people=[1, 2])
    shifts = final_schedule(schedule, [], utc(2026, 10, 31, 13), utc(2026, 11, 2, 14))
    assert table(shifts) == [
        (utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), {1}),
        (utc(2026, 11, 1, 14), utc(2026, 11, 2, 14), {2}),
    ]
    assert [hours(shift) for shift in shifts] == [25, 24]


def test_daily_9am_handoff_in_london_lasts_23_hours_in_march_and_25_in_october() -> None:
    # Spring: 09:00 GMT Sat 28 March = 09:00 UTC; 09:00 BST Sun 29 March = 08:00 UTC (23 h).
    # Autumn: 09:00 BST Sat 24 October = 08:00 UTC; 09:00 GMT Sun 25 October = 09:00 UTC (25 h).
    schedule = one_layer("Europe/London", start="2026-03-28T09:00", rotation="daily", people=[4, 5])
    spring = final_schedule(schedule, [], utc(2026, 3, 28, 9), utc(2026, 3, 30, 8))
    assert table(spring) == [
        (utc(2026, 3, 28, 9), utc(2026, 3, 29, 8), {4}),
        (utc(2026, 3, 29, 8), utc(2026, 3, 30, 8), {5}),
    ]
    # 28 March is turn 0 (4); 24 October is 210 days later, turn 210 (even: 4), 25 October turn 211 (5).
    autumn = final_schedule(schedule, [], utc(2026, 10, 24, 8), utc(2026, 10, 26, 9))
    assert table(autumn) == [
        (utc(2026, 10, 24, 8), utc(2026, 10, 25, 9), {4}),
        (utc(2026, 10, 25, 9), utc(2026, 10, 26, 9), {5}),
    ]
    assert [hours(s) for s in spring] == [23, 24]
    assert [hours(s) for s in autumn] == [25, 24]


def test_weekly_monday_handoff_in_new_york_lasts_167_hours_in_march_and_169_in_november() -> None:
    # Mon 2 March 09:00 EST = 14:00 UTC to Mon 9 March 09:00 EDT = 13:00 UTC: 7 * 24 - 1 = 167 h.
    # Mon 26 October 09:00 EDT = 13:00 UTC to Mon 2 November 09:00 EST = 14:00 UTC: 169 h.
    schedule = one_layer("America/New_York", start="2026-03-02T09:00", rotation="weekly", people=[1, 2])
    march = layer_shifts(schedule, utc(2026, 3, 2, 14), utc(2026, 3, 2, 15))
    assert [(s.start, s.end, s.user) for s in march] == [(utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), 1)]
    # 26 October is 238 days (34 weeks) after 2 March: turn 34, user 1.
    november = layer_shifts(schedule, utc(2026, 10, 26, 13), utc(2026, 10, 26, 14))
    assert [(s.start, s.end, s.user, s.rotation_index) for s in november] == [
        (utc(2026, 10, 26, 13), utc(2026, 11, 2, 14), 1, 34)
    ]
    assert (march[0].end - march[0].start) == timedelta(hours=167)
    assert (november[0].end - november[0].start) == timedelta(hours=169)


def test_weekly_rotation_in_chicago_has_no_gap_or_overlap_at_either_change() -> None:
    # Tuesdays 09:00 from 1 October 2024 (turn 0: user 1). Chicago falls back on Sun 3 November
    # 2024 and springs forward on Sun 9 March 2025. 09:00 CDT is 14:00 UTC, 09:00 CST 15:00 UTC.
    # Tue 29 October is turn 4 (user 1), 5 November turn 5 (2), 12 November turn 6 (1);
    # Tue 4 March 2025 is turn 22 (1), 11 March turn 23 (2), 18 March turn 24 (1).
    schedule = one_layer("America/Chicago", start="2024-10-01T09:00", rotation="weekly", people=[1, 2])
    autumn = final_schedule(schedule, [], utc(2024, 10, 29, 14), utc(2024, 11, 12, 15))
    assert table(autumn) == [
        (utc(2024, 10, 29, 14), utc(2024, 11, 5, 15), {1}),
        (utc(2024, 11, 5, 15), utc(2024, 11, 12, 15), {2}),
    ]
    spring = final_schedule(schedule, [], utc(2025, 3, 4, 15), utc(2025, 3, 18, 14))
    assert table(spring) == [
        (utc(2025, 3, 4, 15), utc(2025, 3, 11, 14), {1}),
        (utc(2025, 3, 11, 14), utc(2025, 3, 18, 14), {2}),
    ]
    assert [hours(s) for s in autumn + spring] == [169, 168, 167, 168]
    assert gaps(schedule, [], utc(2024, 10, 20), days=180) == []


def test_hourly_rotation_counts_real_hours_across_spring_forward() -> None:
    # From Sun 8 March 00:00 EST (05:00 UTC): hand-offs every real hour at 05:00, 06:00, 07:00 and
    # 08:00 UTC, which the wall shows as 00:00 EST, 01:00 EST, 03:00 EDT and 04:00 EDT.
    schedule = one_layer("America/New_York", start="2026-03-08T00:00", rotation="hourly", people=[1, 2, 3])
    shifts = final_schedule(schedule, [], utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert table(shifts) == [
        (utc(2026, 3, 8, 5), utc(2026, 3, 8, 6), {1}),
        (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), {2}),
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 8), {3}),
        (utc(2026, 3, 8, 8), utc(2026, 3, 8, 9), {1}),
    ]
    assert [s.start.astimezone(NEW_YORK).strftime("%H:%M %Z") for s in shifts] == [
        "00:00 EST",
        "01:00 EST",
        "03:00 EDT",
        "04:00 EDT",
    ]


def test_twelve_hour_rotation_counts_real_hours_across_fall_back() -> None:
    # From Sat 31 October 20:00 EDT (Sun 00:00 UTC): 12 real hours later is 12:00 UTC, which is
    # 07:00 EST on Sunday (not 08:00: the clock went back an hour between).
    schedule = one_layer("America/New_York", start="2026-10-31T20:00", rotation="12h", people=[1, 2])
    shifts = final_schedule(schedule, [], utc(2026, 11, 1, 0), utc(2026, 11, 2, 0))
    assert table(shifts) == [
        (utc(2026, 11, 1, 0), utc(2026, 11, 1, 12), {1}),
        (utc(2026, 11, 1, 12), utc(2026, 11, 2, 0), {2}),
    ]
    assert shifts[1].start.astimezone(NEW_YORK).strftime("%H:%M %Z") == "07:00 EST"


def test_a_0230_handoff_on_the_spring_forward_day_happens_at_0300() -> None:
    # 02:30 does not exist on Sun 8 March in New York: the hand-off is at the change, 03:00 EDT
    # (07:00 UTC). Sat 7 March 02:30 EST is 07:30 UTC; Mon 9 March 02:30 EDT is 06:30 UTC. So the
    # Saturday shift lasts 23 h 30 min and the Sunday one 23 h 30 min too.
    schedule = one_layer("America/New_York", start="2026-03-07T02:30", rotation="daily", people=[1, 2, 3])
    shifts = final_schedule(schedule, [], utc(2026, 3, 7, 7, 30), utc(2026, 3, 10, 6, 30))
    assert table(shifts) == [
        (utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), {1}),
        (utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30), {2}),
        (utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30), {3}),
    ]
    assert shifts[1].start.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"
    assert on_call_at(schedule, [], utc(2026, 3, 8, 6, 59)) == {1}
    assert on_call_at(schedule, [], utc(2026, 3, 8, 7)) == {2}


def test_a_0130_handoff_on_the_fall_back_day_happens_at_the_first_0130() -> None:
    # 01:30 happens twice on Sun 1 November in New York: 01:30 EDT (05:30 UTC) and 01:30 EST
    # (06:30 UTC). The hand-off is at the first. Sat 31 October 01:30 EDT is 05:30 UTC; Mon
    # 2 November 01:30 EST is 06:30 UTC: the Saturday shift lasts 24 h, the Sunday one 25 h.
    schedule = one_layer("America/New_York", start="2026-10-31T01:30", rotation="daily", people=[1, 2, 3])
    shifts = final_schedule(schedule, [], utc(2026, 10, 31, 5, 30), utc(2026, 11, 3, 6, 30))
    assert table(shifts) == [
        (utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), {1}),
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), {2}),
        (utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30), {3}),
    ]
    assert [hours(s) for s in shifts] == [24, 25, 24]


def test_a_handoff_in_the_skipped_hour_in_london_happens_at_0200_bst() -> None:
    # 01:30 does not exist on Sun 29 March in London: the hand-off is at 02:00 BST (01:00 UTC).
    # Sat 28 March 01:30 GMT = 01:30 UTC; Mon 30 March 01:30 BST = 00:30 UTC.
    schedule = one_layer("Europe/London", start="2026-03-28T01:30", rotation="daily", people=[1, 2])
    shifts = final_schedule(schedule, [], utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30))
    assert table(shifts) == [
        (utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), {1}),
        (utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30), {2}),
    ]


# --- layers and restrictions ---------------------------------------------------------------------


def business_hours_over_daily() -> Schedule:
    """A 24x7 daily rotation (1, 2, 3 from Mon 2 November 09:00) with a weekly business-hours
    layer on top (7 then 8 from Mon 2 November 00:00, restricted to mon-fri 09:00-17:00)."""
    return Schedule.model_validate(
        {
            "id": "support",
            "timezone": "America/New_York",
            "layers": [
                {"id": "primary", "start": "2026-11-02T09:00", "rotation": "daily", "people": [1, 2, 3]},
                {
                    "id": "business",
                    "start": "2026-11-02T00:00",
                    "rotation": "weekly",
                    "people": [7, 8],
                    "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}],
                },
            ],
        }
    )


def test_top_layer_wins_inside_its_restrictions_and_the_layer_below_shows_outside_them() -> None:
    # EST (UTC-5) all week. Primary hands off at 14:00 UTC daily: 2 Nov -> 1, 3 -> 2, 4 -> 3, 5 -> 1,
    # 6 -> 2, 7 -> 3, 8 -> 1, 9 -> 2. Business: 7 for the week from 2 Nov, 8 from 9 Nov, only on
    # weekdays 09:00-17:00 EST = 14:00-22:00 UTC.
    shifts = final_schedule(business_hours_over_daily(), [], utc(2026, 11, 6, 17), utc(2026, 11, 9, 17))
    assert table(shifts) == [
        (utc(2026, 11, 6, 17), utc(2026, 11, 6, 22), {7}),  # Friday afternoon: business layer
        (utc(2026, 11, 6, 22), utc(2026, 11, 7, 14), {2}),  # Friday night: primary's Friday turn
        (utc(2026, 11, 7, 14), utc(2026, 11, 8, 14), {3}),  # Saturday
        (utc(2026, 11, 8, 14), utc(2026, 11, 9, 14), {1}),  # Sunday
        (utc(2026, 11, 9, 14), utc(2026, 11, 9, 17), {8}),  # Monday 09:00: the business layer's next turn
    ]
    assert on_call_at(business_hours_over_daily(), [], utc(2026, 11, 9, 13, 59)) == {1}
    assert on_call_at(business_hours_over_daily(), [], utc(2026, 11, 9, 14)) == {8}


def test_a_restriction_running_past_midnight_covers_friday_night_into_saturday() -> None:
    # fri 22:00-06:00 in UTC: from Fri 6 November 22:00 to Sat 7 November 06:00, nothing else.
    schedule = one_layer(
        "UTC",
        start="2026-11-02T00:00",
        rotation="weekly",
        people=[4],
        restrictions=[{"days": "fri", "hours": "22:00-06:00"}],
    )
    shifts = final_schedule(schedule, [], utc(2026, 11, 6), utc(2026, 11, 8))
    assert table(shifts) == [
        (utc(2026, 11, 6), utc(2026, 11, 6, 22), set()),
        (utc(2026, 11, 6, 22), utc(2026, 11, 7, 6), {4}),
        (utc(2026, 11, 7, 6), utc(2026, 11, 8), set()),
    ]


def test_restriction_cuts_a_turn_into_several_layer_shifts_with_the_same_rotation_index() -> None:
    schedule = business_hours_over_daily()
    business = [s for s in layer_shifts(schedule, utc(2026, 11, 2), utc(2026, 11, 5)) if s.layer_id == "business"]
    assert [(s.start, s.end, s.user, s.rotation_index, s.uid) for s in business] == [
        (utc(2026, 11, 2, 14), utc(2026, 11, 2, 22), 7, 0, "support/business/0/20261102T140000Z"),
        (utc(2026, 11, 3, 14), utc(2026, 11, 3, 22), 7, 0, "support/business/0/20261103T140000Z"),
        (utc(2026, 11, 4, 14), utc(2026, 11, 4, 22), 7, 0, "support/business/0/20261104T140000Z"),
    ]


def test_layer_shift_uid_is_the_same_whatever_window_asks_for_it() -> None:
    schedule = business_hours_over_daily()
    wide = layer_shifts(schedule, utc(2026, 11, 1), utc(2026, 11, 30))
    narrow = layer_shifts(schedule, utc(2026, 11, 10, 20), utc(2026, 11, 10, 21))
    # Tuesday 10 November 20:00 UTC: primary's turn from 14:00 UTC (turn 8: user 3) and business
    # week 1 (user 8), whole shifts, not cut at the window.
    assert [(s.uid, s.start, s.end) for s in narrow] == [
        ("support/primary/8/20261110T140000Z", utc(2026, 11, 10, 14), utc(2026, 11, 11, 14)),
        ("support/business/1/20261110T140000Z", utc(2026, 11, 10, 14), utc(2026, 11, 10, 22)),
    ]
    assert all(shift in wide for shift in narrow)


def test_a_layer_has_no_one_after_its_end() -> None:
    schedule = one_layer("UTC", start="2026-11-02T00:00", end="2026-11-03T06:00", rotation="daily", people=[1, 2])
    shifts = final_schedule(schedule, [], utc(2026, 11, 1), utc(2026, 11, 4))
    assert table(shifts) == [
        (utc(2026, 11, 1), utc(2026, 11, 2), set()),
        (utc(2026, 11, 2), utc(2026, 11, 3), {1}),
        (utc(2026, 11, 3), utc(2026, 11, 3, 6), {2}),
        (utc(2026, 11, 3, 6), utc(2026, 11, 4), set()),
    ]


def test_a_handoff_time_other_than_the_start_time_sets_the_later_handoffs() -> None:
    # The layer starts Monday 17:00 UTC; hand-offs are at 09:00 each day after: the first turn
    # is Mon 17:00 to Tue 09:00 (16 h), the next ones 24 h.
    schedule = one_layer("UTC", start="2026-11-02T17:00", handoff="09:00", rotation="daily", people=[1, 2])
    shifts = final_schedule(schedule, [], utc(2026, 11, 2, 17), utc(2026, 11, 4, 9))
    assert table(shifts) == [
        (utc(2026, 11, 2, 17), utc(2026, 11, 3, 9), {1}),
        (utc(2026, 11, 3, 9), utc(2026, 11, 4, 9), {2}),
    ]


def test_custom_three_day_rotation_hands_off_every_third_day_at_the_handoff_time() -> None:
    schedule = one_layer("UTC", start="2026-11-02T08:00", rotation="3 days", people=[1, 2])
    shifts = final_schedule(schedule, [], utc(2026, 11, 2, 8), utc(2026, 11, 11, 8))
    assert table(shifts) == [
        (utc(2026, 11, 2, 8), utc(2026, 11, 5, 8), {1}),
        (utc(2026, 11, 5, 8), utc(2026, 11, 8, 8), {2}),
        (utc(2026, 11, 8, 8), utc(2026, 11, 11, 8), {1}),
    ]


# --- overrides ------------------------------------------------------------------------------------


def two_people_daily() -> Schedule:
    """Daily at 00:00 UTC from Mon 2 November: 1 on the 2nd, 2 on the 3rd, 1 on the 4th, ..."""
    return one_layer("UTC", start="2026-11-02T00:00", rotation="daily", people=[1, 2])


def test_add_override_puts_someone_on_call_with_whoever_is() -> None:
    overrides = [AddOverride(start=utc(2026, 11, 2, 6), end=utc(2026, 11, 2, 12), user=5)]
    shifts = final_schedule(two_people_daily(), overrides, utc(2026, 11, 2), utc(2026, 11, 3))
    assert table(shifts) == [
        (utc(2026, 11, 2), utc(2026, 11, 2, 6), {1}),
        (utc(2026, 11, 2, 6), utc(2026, 11, 2, 12), {1, 5}),
        (utc(2026, 11, 2, 12), utc(2026, 11, 3), {1}),
    ]


def test_remove_override_leaves_a_gap_where_only_that_person_was_on_call() -> None:
    overrides = [RemoveOverride(start=utc(2026, 11, 3), end=utc(2026, 11, 3, 12), user=2)]
    shifts = final_schedule(two_people_daily(), overrides, utc(2026, 11, 2, 12), utc(2026, 11, 4))
    assert table(shifts) == [
        (utc(2026, 11, 2, 12), utc(2026, 11, 3), {1}),
        (utc(2026, 11, 3), utc(2026, 11, 3, 12), set()),
        (utc(2026, 11, 3, 12), utc(2026, 11, 4), {2}),
    ]


def test_replace_override_gives_one_persons_shifts_to_another_and_leaves_others_alone() -> None:
    # 1 -> 9 from Tue 3 November 12:00 to Wed 4 November 12:00: Tuesday is 2's day (untouched);
    # Wednesday morning is 1's, so 9 takes it until noon.
    overrides = [ReplaceOverride(start=utc(2026, 11, 3, 12), end=utc(2026, 11, 4, 12), user=1, by=9)]
    shifts = final_schedule(two_people_daily(), overrides, utc(2026, 11, 3), utc(2026, 11, 5))
    assert table(shifts) == [
        (utc(2026, 11, 3), utc(2026, 11, 4), {2}),
        (utc(2026, 11, 4), utc(2026, 11, 4, 12), {9}),
        (utc(2026, 11, 4, 12), utc(2026, 11, 5), {1}),
    ]


def test_overrides_apply_in_the_order_given() -> None:
    add = AddOverride(start=utc(2026, 11, 2, 6), end=utc(2026, 11, 2, 12), user=5)
    replace = ReplaceOverride(start=utc(2026, 11, 2), end=utc(2026, 11, 3), user=5, by=6)
    at = utc(2026, 11, 2, 8)
    assert on_call_at(two_people_daily(), [add, replace], at) == {1, 6}  # 5 added, then replaced by 6
    assert on_call_at(two_people_daily(), [replace, add], at) == {1, 5}  # 5 not on call when replace acts


def test_overrides_read_from_json_by_kind() -> None:
    adapter = TypeAdapter(list[Override])
    overrides = adapter.validate_python(
        [
            {"kind": "add", "start": "2026-11-02T06:00:00Z", "end": "2026-11-02T12:00:00Z", "user": 5},
            {
                "kind": "replace",
                "start": "2026-11-02T09:00:00-05:00",
                "end": "2026-11-03T00:00:00Z",
                "user": 1,
                "by": 9,
            },
        ]
    )
    # 09:00 EST is 14:00 UTC: from then 9 stands in for 1.
    assert on_call_at(two_people_daily(), overrides, utc(2026, 11, 2, 10)) == {1, 5}
    assert on_call_at(two_people_daily(), overrides, utc(2026, 11, 2, 14)) == {9}


# --- questions: now, next, gaps ----------------------------------------------------------------


def test_on_call_at_takes_any_aware_instant_and_refuses_a_naive_one() -> None:
    at_new_york = datetime(2026, 11, 3, 9, 0, tzinfo=NEW_YORK)  # 14:00 UTC on Tuesday: user 2
    assert on_call_at(two_people_daily(), [], at_new_york) == {2}
    with pytest.raises(ScheduleError, match="`at` must be an aware date-time"):
        on_call_at(two_people_daily(), [], datetime(2026, 11, 3, 9))


def test_next_change_includes_a_gap_and_who_is_next_skips_it() -> None:
    overrides = [RemoveOverride(start=utc(2026, 11, 3), end=utc(2026, 11, 3, 12), user=2)]
    at = utc(2026, 11, 2, 18)  # user 1 on call
    assert next_change(two_people_daily(), overrides, at) == Shift(utc(2026, 11, 3), utc(2026, 11, 3, 12), frozenset())
    assert who_is_next(two_people_daily(), overrides, at) == Shift(
        utc(2026, 11, 3, 12), utc(2026, 11, 4), frozenset({2})
    )


def test_next_change_is_none_when_nothing_changes_within_the_horizon() -> None:
    schedule = one_layer("UTC", start="2026-11-02T00:00", rotation="weekly", people=[3])
    assert next_change(schedule, [], utc(2026, 11, 2, 1), within=timedelta(days=30)) is None
    assert who_is_next(schedule, [], utc(2026, 11, 2, 1), within=timedelta(days=30)) is None


def test_who_is_next_from_a_gap_is_the_next_person_on_call() -> None:
    # Friday 17:00 UTC, after business hours: the next person is on Monday at 09:00.
    schedule = one_layer(
        "UTC",
        start="2026-11-02T00:00",
        rotation="weekly",
        people=[3, 4],
        restrictions=[{"days": "mon-fri", "hours": "09:00-17:00"}],
    )
    assert who_is_next(schedule, [], utc(2026, 11, 6, 18)) == Shift(
        utc(2026, 11, 9, 9), utc(2026, 11, 9, 17), frozenset({4})
    )


def weekday_hours_only() -> Schedule:
    return one_layer(
        "UTC",
        start="2026-11-02T00:00",
        rotation="weekly",
        people=[3],
        restrictions=[{"days": "mon-fri", "hours": "09:00-17:00"}],
    )


def test_gaps_lists_the_nights_and_weekend_without_anyone() -> None:
    # From Fri 27 November 12:00 for 4 days (to Tue 1 December 12:00).
    assert table(gaps(weekday_hours_only(), [], utc(2026, 11, 27, 12), days=4)) == [
        (utc(2026, 11, 27, 17), utc(2026, 11, 30, 9), set()),
        (utc(2026, 11, 30, 17), utc(2026, 12, 1, 9), set()),
    ]


def test_gaps_look_30_days_ahead_by_default() -> None:
    # 30 days from Fri 27 November 12:00 end on Sun 27 December 12:00. A gap opens at 17:00 on
    # each weekday from 27 November to 25 December: 1 + 4 * 5 = 21, the last cut at the horizon.
    found = gaps(weekday_hours_only(), [], utc(2026, 11, 27, 12))
    assert len(found) == 21
    assert (found[0].start, found[0].end) == (utc(2026, 11, 27, 17), utc(2026, 11, 30, 9))
    assert (found[-1].start, found[-1].end) == (utc(2026, 12, 25, 17), utc(2026, 12, 27, 12))


def test_gaps_include_the_end_of_a_layer_and_a_removal() -> None:
    schedule = one_layer("UTC", start="2026-11-02T00:00", end="2026-11-20T00:00", rotation="daily", people=[1, 2])
    overrides = [RemoveOverride(start=utc(2026, 11, 10, 8), end=utc(2026, 11, 10, 9), user=1)]
    assert table(gaps(schedule, overrides, utc(2026, 11, 9, 12), days=30)) == [
        (utc(2026, 11, 10, 8), utc(2026, 11, 10, 9), set()),  # 10 November is 1's day (turn 8)
        (utc(2026, 11, 20), utc(2026, 12, 9, 12), set()),
    ]


def test_final_schedule_refuses_an_empty_window() -> None:
    with pytest.raises(ScheduleError, match="must be after"):
        final_schedule(two_people_daily(), [], utc(2026, 11, 3), utc(2026, 11, 3))


# --- the model: bad input is named by its field -----------------------------------------------


def problems(data: dict[str, object]) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        Schedule.model_validate(data)
    return [(tuple(error["loc"]), error["msg"]) for error in raised.value.errors()]


def layer_data(**changes: object) -> dict[str, object]:
    return {"id": "primary", "start": "2026-11-02T09:00", "rotation": "daily", "people": [1, 2], **changes}


def test_an_unknown_zone_and_an_unreadable_rotation_are_reported_at_their_fields() -> None:
    found = problems({"id": "support", "timezone": "Mars/Olympus", "layers": [layer_data(rotation="fortnightly")]})
    assert (
        ("timezone",),
        "Value error, unknown time zone 'Mars/Olympus' (use an IANA name like America/New_York)",
    ) in found
    assert (
        ("layers", 0, "rotation"),
        "Value error, cannot read 'fortnightly' as a rotation (expected hourly, daily, weekly, or a length like 12h or 3 days)",
    ) in found


def test_layer_times_are_local_and_a_handoff_needs_a_rotation_in_days() -> None:
    assert problems({"id": "s", "timezone": "UTC", "layers": [layer_data(start="2026-11-02T09:00:00+01:00")]}) == [
        (("layers", 0), "Value error, `start` is a local date-time in the schedule's zone: write it without an offset")
    ]
    assert problems({"id": "s", "timezone": "UTC", "layers": [layer_data(rotation="12h", handoff="09:00")]}) == [
        (
            ("layers", 0),
            "Value error, `handoff` applies to rotations in days or weeks; '12h' counts elapsed time from `start`",
        )
    ]


def test_unknown_fields_and_bad_people_are_refused() -> None:
    found = problems({"id": "s", "timezone": "UTC", "layers": [layer_data(people=["1", 0], colour="red")]})
    assert [loc for loc, _ in found] == [
        ("layers", 0, "people", 0),
        ("layers", 0, "people", 1),
        ("layers", 0, "colour"),
    ]


def test_a_replace_override_needs_two_people_and_an_override_needs_offsets() -> None:
    with pytest.raises(ValidationError, match="`by` must be someone other than `user`"):
        ReplaceOverride(start=utc(2026, 11, 2), end=utc(2026, 11, 3), user=1, by=1)
    with pytest.raises(ValidationError, match="timezone"):
        AddOverride.model_validate({"start": "2026-11-02T00:00", "end": "2026-11-03T00:00", "user": 1})
    with pytest.raises(ValidationError, match="`end` must be after `start`"):
        RemoveOverride(start=utc(2026, 11, 3), end=utc(2026, 11, 2), user=1)


def test_a_restriction_reads_weekdays_and_a_time_range() -> None:
    restriction = Restriction(days="fri-mon", hours="22:00-06:00")
    assert restriction.weekdays == {4, 5, 6, 0}
    assert (restriction.wall_range.start_minute, restriction.wall_range.end_minute) == (1320, 1800)
    with pytest.raises(ValidationError, match="cannot read 'lunchtime' as a time range"):
        Restriction(days="mon", hours="lunchtime")
    with pytest.raises(ValidationError, match="layer"):
        Schedule(
            id="s",
            timezone="UTC",
            layers=(
                Layer(id="a", start=datetime(2026, 11, 2), rotation="daily", people=(1,)),
                Layer(id="a", start=datetime(2026, 11, 2), rotation="daily", people=(2,)),
            ),
        )


def test_a_schedule_needs_a_layer_and_a_layer_needs_a_person() -> None:
    assert problems({"id": "s", "timezone": "UTC", "layers": []}) == [
        (("layers",), "Value error, give at least one layer")
    ]
    assert problems({"id": "s", "timezone": "UTC", "layers": [layer_data(people=[])]}) == [
        (("layers", 0, "people"), "Value error, give at least one person (a user id)")
    ]


def test_a_restriction_inside_the_skipped_hour_is_empty_that_day_only() -> None:
    # sun 02:00-02:30 in New York: on 1 March (EST) 07:00-07:30 UTC; on 8 March both ends fall in
    # the skipped hour and happen at 03:00 EDT, so no one; on 15 March (EDT) 06:00-06:30 UTC.
    schedule = one_layer(
        "America/New_York",
        start="2026-03-01T00:00",
        rotation="weekly",
        people=[5],
        restrictions=[{"days": "sun", "hours": "02:00-02:30"}],
    )
    covered = [shift for shift in final_schedule(schedule, [], utc(2026, 3, 1), utc(2026, 3, 16)) if shift.people]
    assert table(covered) == [
        (utc(2026, 3, 1, 7), utc(2026, 3, 1, 7, 30), {5}),
        (utc(2026, 3, 15, 6), utc(2026, 3, 15, 6, 30), {5}),
    ]


def test_a_schedule_dumped_as_json_reads_back_the_same() -> None:
    schedule = business_hours_over_daily()
    dumped = schedule.model_dump(mode="json")
    assert dumped["layers"][1] == {
        "id": "business",
        "start": "2026-11-02T00:00:00",
        "rotation": "weekly",
        "handoff": None,
        "people": [7, 8],
        "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}],
        "end": None,
    }
    assert Schedule.model_validate(dumped) == schedule


@pytest.mark.parametrize(
    ("text", "elapsed_seconds", "days"),
    [
        ("hourly", 3600, 0),
        ("daily", 0, 1),
        ("weekly", 0, 7),
        ("12h", 43200, 0),
        ("1h 30m", 5400, 0),
        ("3 days", 0, 3),
        ("2 weeks", 0, 14),
    ],
)
def test_rotation_lengths_read_as_elapsed_time_or_calendar_days(text: str, elapsed_seconds: int, days: int) -> None:
    assert parse_rotation(text) == RotationLength(elapsed_seconds=elapsed_seconds, days=days)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 days", "rotation '0 days' is empty: a turn lasts at least a minute"),
        ("90s", "rotation '90s' must be a whole number of minutes, at least one"),
        ("2 business days", "rotation '2 business days': a rotation counts calendar days, not business days"),
        ("sometimes", "cannot read 'sometimes' as a rotation"),
    ],
)
def test_rotation_lengths_that_cannot_be_a_turn_are_refused(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=re.escape(message)):
        parse_rotation(text)


def test_next_change_refuses_a_horizon_that_is_not_ahead() -> None:
    with pytest.raises(ScheduleError, match="`within` must be a positive length of time"):
        next_change(two_people_daily(), [], utc(2026, 11, 2), within=timedelta(0))
