"""The admin pages' read models: targets in words, a calendar week in wall time, and where a message goes."""

from __future__ import annotations

from datetime import date

from sladesk.policy import builtin_source, load_policy, policy_from_text
from sladesk.services.admin_views import policy_week, recipient_of, scenario_run, severity_table


def test_targets_read_due_then_calendar_then_start_then_goal():
    rows = severity_table(load_policy("choozle"))
    assert [(row.code, [t.words for t in row.targets]) for row in rows] == [
        ("S1", ["2h on Business hours", "1 business day (24h of working time) on Business week"]),
        (
            "S2",
            [
                "2h on Business hours",
                "3 business days (72h of working time) on Business week; goal 1 business day (24h of working time)",
            ],
        ),
        (
            "S3",
            [
                "3h on Business hours",
                "5 business days (120h of working time) on Business week; goal 3 business days (72h of working time)",
            ],
        ),
    ]
    level_1 = severity_table(load_policy("aspenware"))[0]
    assert [t.words for t in level_1.targets] == [
        "1h of elapsed time if opened within Business hours or on-call period, else 1h after its next opening",
        "24h on Calendar time, from the first response",
    ]
    assert [(t.metric_name, t.words) for t in level_1.cases] == [
        (
            "Expected resolution time (category Software defect, path Hotfix)",
            "1 business day (9h of working time) on Business hours, from the first response",
        )
    ]
    assert level_1.pages_oncall is True


def test_a_week_starts_on_its_monday_and_names_its_holidays():
    week = policy_week(load_policy("alleo"), date(2026, 12, 27))  # a Sunday: its week began on the 21st
    assert (week.monday, week.previous, week.next) == (date(2026, 12, 21), date(2026, 12, 14), date(2026, 12, 28))
    assert week.holidays == ((date(2026, 12, 24), "Christmas Eve"), (date(2026, 12, 25), "Christmas Day"))
    [business] = week.calendars
    assert [(day.label, day.words) for day in business.days] == [
        ("Mon 21 Dec", "08:00-17:00"),
        ("Tue 22 Dec", "08:00-17:00"),
        ("Wed 23 Dec", "08:00-17:00"),
        ("Thu 24 Dec", "Closed: Christmas Eve"),
        ("Fri 25 Dec", "Closed: Christmas Day"),
        ("Sat 26 Dec", "Closed"),
        ("Sun 27 Dec", "Closed"),
    ]
    assert business.days[0].hour_minutes == (0,) * 8 + (60,) * 9 + (0,) * 7
    assert (business.zone, business.on_call) == ("America/New_York", False)


def test_a_day_of_the_clock_change_is_24_wall_hours_and_part_hours_show_their_minutes():
    text = builtin_source("aspenware").replace('mon-fri: "08:00-17:00"', 'mon-fri: "08:30-17:15"', 1)
    week = policy_week(policy_from_text(text, "aspenware.yaml"), date(2026, 11, 1))  # Sun 1 Nov: clocks go back
    calendars = {calendar.calendar_id: calendar for calendar in week.calendars}
    always_sunday = calendars["always"].days[6]
    assert (always_sunday.label, always_sunday.words, always_sunday.hour_minutes) == (
        "Sun 1 Nov",
        "00:00-24:00",
        (60,) * 24,
    )
    monday = calendars["business"].days[0]
    assert monday.words == "08:30-17:15"
    assert monday.hour_minutes[7:19] == (0, 30) + (60,) * 8 + (15, 0)
    assert [c.calendar_id for c in week.calendars if c.on_call] == ["oncall"]


def test_an_uploaded_text_without_scenarios_has_none_and_broken_scenarios_say_why():
    policy = load_policy("alleo")
    assert scenario_run(policy, builtin_source("alleo").replace("version: 2", "version: 3")).results == ()
    broken = scenario_run(policy, builtin_source("alleo") + "\ntests: not a list\n")
    assert broken.error is not None and "`tests` must be a list of scenarios" in broken.error


def test_a_message_goes_to_its_addresses_or_only_the_host_of_its_url():
    assert recipient_of({"to": ["a@example.com", "b@example.com"], "subject": "x"}) == "a@example.com, b@example.com"
    assert recipient_of({"url": "https://hooks.slack.example/services/T0/B0/SECRET"}) == "hooks.slack.example"
    assert recipient_of({}) == ""
