"""Loading policies: the built-ins, and broken files reported with file, line and field, all at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from sladesk.errors import PolicyError, UnknownPolicyError
from sladesk.policy import BUILTIN_IDS, builtin_path, load_policy, policy_from_text

MINIMAL = """\
id: tiny
name: Tiny desk
timezone: Europe/Paris
holidays:
  rules:
    - {id: may_day, name: May Day, on: "05-01"}
calendars:
  business:
    hours: {mon-fri: "09:00-18:00"}
statuses:
  - {id: new, name: New, kind: new}
  - {id: closed, name: Closed, kind: closed}
transitions:
  new: [closed]
metrics:
  first_response: {name: First response, calendar: business, stop: first_agent_reply}
severities:
  - {code: S1, rank: 1, name: High, definition: Down., targets: {first_response: 2h}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as error:
        load_policy(str(path))
    return [str(p) for p in error.value.problems]


@pytest.mark.parametrize("policy_id", BUILTIN_IDS)
def test_every_built_in_policy_loads_with_the_four_common_statuses(policy_id):
    policy = load_policy(policy_id)
    status_ids = {s.id for s in policy.spec.statuses}
    assert {"new", "open", "awaiting_customer", "closed"} <= status_ids
    assert policy.spec.assumptions, "assumptions must be written in the policy"


def test_severity_is_found_by_rank_or_code():
    policy = load_policy("aspenware")
    assert policy.severity(1).code == "L1"
    assert policy.severity("l2").rank == 2
    assert policy.severity("3").code == "L3"


def test_business_days_use_the_calendars_standard_day():
    choozle = load_policy("choozle")
    s2 = choozle.severity("S2")
    rule = choozle.clock_rule(s2, "resolution")
    assert (rule.goal, rule.due) == (timedelta(hours=24), timedelta(hours=72))
    alleo = load_policy("alleo")
    assert alleo.clock_rule(alleo.severity(4), "first_response").due == timedelta(hours=45)


def test_a_minimal_policy_file_loads(tmp_path):
    policy = load_policy(str(write(tmp_path, MINIMAL)))
    assert policy.id == "tiny"
    assert policy.calendar("business").standard_day == timedelta(hours=9)


def test_unknown_policy_names_the_built_ins():
    with pytest.raises(UnknownPolicyError, match="not a built-in id \\(alli, alleo, aspenware"):
        load_policy("nope")


def test_yaml_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, MINIMAL.replace('    hours: {mon-fri: "09:00-18:00"}', '    hours: {mon-fri: "09:00-18:00"'))
    [message] = problems(path)
    assert message.startswith(f"{path}:10: YAML syntax:")


def test_duplicate_key_is_a_located_error(tmp_path):
    path = write(tmp_path, MINIMAL + "timezone: UTC\n")
    [message] = problems(path)
    assert message.startswith(f"{path}:")
    assert "duplicate key" in message


def test_every_structural_problem_is_reported_at_once(tmp_path):
    text = (
        MINIMAL.replace("Europe/Paris", "Europe/Pariss")
        .replace('"09:00-18:00"', '"09:00-25:00"')
        .replace("kind: closed", "kind: shut")
        .replace("first_response: 2h", "first_response: soon")
    )
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:3: timezone: unknown time zone 'Europe/Pariss' (use an IANA name like America/New_York)",
        f"{tmp_path}/policy.yaml:9: calendars.business.hours.mon-fri: '09:00-25:00' is not a valid time range: "
        "hours run 00-23 (24:00 only as an end)",
        f"{tmp_path}/policy.yaml:12: statuses[1].kind: Input should be 'new', 'open', 'waiting', 'resolved' or 'closed'",
        f"{tmp_path}/policy.yaml:18: severities[0].targets.first_response.due: cannot read 'soon' as a duration "
        "(expected like 30m, 4h, 1h 30m or 2 business days)",
    ]


def test_every_broken_reference_is_reported_at_once(tmp_path):
    text = (
        MINIMAL.replace("calendar: business", "calendar: busness")
        .replace("new: [closed]", "new: [closd]")
        .replace('on: "05-01"', "on: easter + 1 day")
        .replace("targets: {first_response: 2h}", "targets: {first_reply: 2h}")
    )
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:6: holidays.rules[0].on: unknown holiday 'easter' (known: may_day)",
        f"{tmp_path}/policy.yaml:14: transitions.new[0]: unknown status 'closd' (known: closed, new)",
        f"{tmp_path}/policy.yaml:16: metrics.first_response.calendar: unknown calendar 'busness' (known: business)",
        f"{tmp_path}/policy.yaml:18: severities[0].targets.first_reply: unknown metric 'first_reply' "
        "(known: first_response)",
    ]


def test_union_calendar_that_contains_itself_is_refused(tmp_path):
    text = MINIMAL.replace(
        '    hours: {mon-fri: "09:00-18:00"}',
        '    hours: {mon-fri: "09:00-18:00"}\n  loop_a: {union: [loop_b]}\n  loop_b: {union: [loop_a]}',
    )
    found = problems(write(tmp_path, text))
    assert f"{tmp_path}/policy.yaml:10: calendars.loop_a.union: calendar 'loop_a' is a member of itself" in found


def test_unknown_field_is_named(tmp_path):
    [message] = problems(write(tmp_path, MINIMAL + "warning_fration: 0.8\n"))
    assert message == f"{tmp_path}/policy.yaml:19: warning_fration: unknown field 'warning_fration'"


def test_country_public_holidays_come_from_the_holidays_package(tmp_path):
    text = MINIMAL.replace("holidays:\n  rules:", "holidays:\n  country: US\n  subdivision: CO\n  rules:")
    policy = load_policy(str(write(tmp_path, text)))
    calendar = policy.calendar("business")
    # Martin Luther King Jr. Day, Mon 19 Jan 2026, is a US public holiday: 1 h from Friday 18:00 (closing)
    # runs on Tuesday 09:00-10:00
    assert calendar.day_off_reason(date(2026, 1, 19)) == "holiday: Martin Luther King Jr. Day"
    assert calendar.add(datetime.fromisoformat("2026-01-16T18:00+01:00"), timedelta(hours=1)) == datetime.fromisoformat(
        "2026-01-20T10:00+01:00"
    )
    # the policy's own rule still applies
    assert calendar.day_off_reason(date(2026, 5, 1)) == "holiday: May Day"


def test_unknown_country_is_a_located_error(tmp_path):
    text = MINIMAL.replace("holidays:\n  rules:", "holidays:\n  country: XX\n  rules:")
    [message] = problems(write(tmp_path, text))
    assert message == (
        f"{tmp_path}/policy.yaml:5: holidays.country: unknown country 'XX' for public holidays (use an ISO code such as US, GB, DE)"
    )


def test_a_time_zone_name_too_long_for_a_file_is_an_unknown_zone(tmp_path):
    text = builtin_path("alleo").read_text().replace("timezone: America/New_York", "timezone: " + "a" * 300)
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "long.yaml")
    assert [(p.line, p.field) for p in caught.value.problems] == [(10, "timezone")]


def test_a_character_yaml_does_not_allow_is_a_located_problem():
    text = builtin_path("alleo").read_text().replace("name: Alleo Support\n", "name: Alleo\x00Support\n")
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "nul.yaml")
    assert [str(p) for p in caught.value.problems] == ["nul.yaml:4: character #x0000 is not allowed in YAML"]


def test_an_impossible_unquoted_date_is_a_located_problem(tmp_path):
    text = MINIMAL.replace(
        '    - {id: may_day, name: May Day, on: "05-01"}',
        "    - id: party\n      name: Party\n      dates: [2026-12-32]",
    )
    [message] = problems(write(tmp_path, text))
    assert message.startswith(f"{tmp_path}/policy.yaml:8: holidays.rules[0].dates[0]: ")
    assert "2026-12-32" in message or "day value is outside expected range" in message


def test_a_problem_inside_hours_points_at_its_own_line(tmp_path):
    text = MINIMAL.replace(
        '    hours: {mon-fri: "09:00-18:00"}',
        '    hours:\n      mon-fri: "09:00-18:00"\n      sat:\n        - "09:00-12:00"\n        - "13:00-25:00"\n      sunday-ish: "10:00-12:00"',
    )
    found = problems(write(tmp_path, text))
    assert found == [
        f"{tmp_path}/policy.yaml:13: calendars.business.hours.sat[1]: '13:00-25:00' is not a valid time range: "
        "hours run 00-23 (24:00 only as an end)",
        f"{tmp_path}/policy.yaml:14: calendars.business.hours.sunday-ish: cannot read 'sunday-ish' as weekdays "
        "(expected like mon-fri)",
    ]


def test_broken_references_are_reported_with_the_structural_problems(tmp_path):
    text = (
        MINIMAL.replace("Europe/Paris", "Europe/Pariss")
        .replace("kind: closed", "kind: shut")
        .replace("new: [closed]", "new: [closd]")
        .replace("calendar: business", "calendar: busness")
        .replace("first_response: 2h", "first_response: soon")
    )
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:3: timezone: unknown time zone 'Europe/Pariss' (use an IANA name like America/New_York)",
        f"{tmp_path}/policy.yaml:12: statuses[1].kind: Input should be 'new', 'open', 'waiting', 'resolved' or 'closed'",
        f"{tmp_path}/policy.yaml:14: transitions.new[0]: unknown status 'closd' (known: closed, new)",
        f"{tmp_path}/policy.yaml:16: metrics.first_response.calendar: unknown calendar 'busness' (known: business)",
        f"{tmp_path}/policy.yaml:18: severities[0].targets.first_response.due: cannot read 'soon' as a duration "
        "(expected like 30m, 4h, 1h 30m or 2 business days)",
    ]


def test_references_into_a_section_too_broken_to_read_are_not_guessed(tmp_path):
    text = MINIMAL.replace(
        "statuses:\n  - {id: new, name: New, kind: new}\n  - {id: closed, name: Closed, kind: closed}",
        "statuses: all of them",
    )
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:10: statuses: Input should be a valid tuple",
    ]


def test_a_scalar_tagged_as_what_it_cannot_be_is_a_located_problem(tmp_path):
    text = MINIMAL.replace("rank: 1,", "rank: !!int first,")
    [message] = problems(write(tmp_path, text))
    assert message.startswith(f"{tmp_path}/policy.yaml:18: severities[0].rank: Input should be a valid integer")


def test_a_severity_with_a_problem_still_has_its_targets_checked(tmp_path):
    text = MINIMAL.replace(
        "targets: {first_response: 2h}}",
        "targets: {first_reply: 2h}, colour: red}\n"
        "  - {code: S2, rank: 2, name: Low, definition: Slow., targets: {first_response: 2 hourz}}",
    )
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:18: severities[0].colour: unknown field 'colour'",
        f"{tmp_path}/policy.yaml:18: severities[0].targets.first_reply: unknown metric 'first_reply' "
        "(known: first_response)",
        f"{tmp_path}/policy.yaml:19: severities[1].targets.first_response.due: unknown unit 'hourz' in duration "
        "'2 hourz' (use s, m, h or business days)",
    ]


def test_hours_given_as_a_number_is_a_located_problem(tmp_path):
    text = MINIMAL.replace('    hours: {mon-fri: "09:00-18:00"}', "    hours:\n      mon-fri: 9")
    [message] = problems(write(tmp_path, text))
    assert message == (
        f"{tmp_path}/policy.yaml:10: calendars.business.hours.mon-fri: "
        "cannot read '9' as a time range (expected like 08:00-17:00)"
    )


def test_repeated_ids_inside_broken_lists_are_reported_with_everything_else(tmp_path):
    text = (
        MINIMAL.replace(
            "  - {id: closed, name: Closed, kind: closed}",
            "  - {id: closed, name: Closed, kind: shut}\n  - {id: new, name: New again, kind: new}",
        )
        .replace("new: [closed]", "new: [closd]")
        .replace("first_response: 2h}}", "first_response: 2 hourz}}\n  - {code: S1, rank: 1, name: Again}")
        + "tiers:\n  - {id: gold, name: Gold}\n  - {id: gold, name: Gold again, colour: yellow}\n"
    )
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:12: statuses[1].kind: Input should be 'new', 'open', 'waiting', 'resolved' or 'closed'",
        f"{tmp_path}/policy.yaml:13: statuses[2].id: 'new' is defined again (first at statuses[0])",
        f"{tmp_path}/policy.yaml:15: transitions.new[0]: unknown status 'closd' (known: closed, new)",
        f"{tmp_path}/policy.yaml:19: severities[0].targets.first_response.due: unknown unit 'hourz' in duration "
        "'2 hourz' (use s, m, h or business days)",
        f"{tmp_path}/policy.yaml:20: severities[1].definition: missing required field 'definition'",
        f"{tmp_path}/policy.yaml:20: severities[1].code: 'S1' is defined again (first at severities[0])",
        f"{tmp_path}/policy.yaml:20: severities[1].rank: rank 1 is used again (first by severities[0]); "
        "ranks must differ",
        f"{tmp_path}/policy.yaml:23: tiers[1].colour: unknown field 'colour'",
        f"{tmp_path}/policy.yaml:23: tiers[1].id: 'gold' is defined again (first at tiers[0])",
    ]


def test_a_repeated_id_in_a_valid_list_points_at_the_repeat(tmp_path):
    text = MINIMAL.replace(
        '    - {id: may_day, name: May Day, on: "05-01"}',
        '    - {id: may_day, name: May Day, on: "05-01"}\n    - {id: may_day, name: Labour Day, on: "05-01"}',
    ).replace("new: [closed]", "new: [closd]")
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:7: holidays.rules[1].id: 'may_day' is defined again (first at holidays.rules[0])",
        f"{tmp_path}/policy.yaml:15: transitions.new[0]: unknown status 'closd' (known: closed, new)",
    ]


def test_hours_that_fit_none_of_their_forms_are_one_problem(tmp_path):
    text = MINIMAL.replace('    hours: {mon-fri: "09:00-18:00"}', "    hours: 42")
    assert problems(write(tmp_path, text)) == [
        f"{tmp_path}/policy.yaml:9: calendars.business.hours: Input should be '24x7' or a valid dictionary"
    ]


def test_comms_cadence_and_notification_rules_name_known_calendars_metrics_and_severities(tmp_path):
    from sladesk.errors import PolicyError
    from sladesk.policy import builtin_source

    source = builtin_source("alli").replace(
        "comms_update: {every: 1h, calendar: always}", "comms_update: {every: 1h, calendar: nowhere}"
    )
    source += "\nnotifications:\n  - on: breached\n    metrics: [nope]\n    severities: [P9]\n    notify: [managers]\n"
    path = tmp_path / "alli.yaml"
    path.write_text(source)
    with pytest.raises(PolicyError) as raised:
        load_policy(str(path))
    problems = [str(problem) for problem in raised.value.problems]
    assert [problem.split(": ", 2)[1] for problem in problems] == [
        "severities[0].comms_update.calendar",
        "notifications[0].metrics[0]",
        "notifications[0].severities[0]",
    ]
    assert "unknown calendar 'nowhere' (known: always, business)" in problems[0]
