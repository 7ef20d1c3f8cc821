"""The sladesk command as a user runs it: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from zoneinfo import ZoneInfo

import pytest

from sladesk.cli import app
from sladesk.cli.common import click_command
from tests.support import ROOT

DESIGN_EXAMPLE = json.loads((ROOT / "examples" / "alleo-replay.json").read_text(encoding="utf-8"))


def _with_events(events, **extra):
    return json.dumps({**DESIGN_EXAMPLE, "events": events, **extra})


def test_replay_reads_standard_input(sladesk):
    result = sladesk("sla", "replay", "-", stdin=json.dumps(DESIGN_EXAMPLE))
    assert result.code == 0, result.stderr
    first_response = json.loads(result.stdout)["metrics"]["first_response"]
    assert first_response["due"] == "2026-11-30T11:30:00-05:00"
    assert first_response["counted_seconds"] == 1800


def test_replay_now_option_replays_before_the_first_reply(sladesk):
    result = sladesk("sla", "replay", "-", "--now", "2026-11-25T16:45:00-05:00", stdin=json.dumps(DESIGN_EXAMPLE))
    assert result.code == 0, result.stderr
    first_response = json.loads(result.stdout)["metrics"]["first_response"]
    # still Sev2 (1 business day = 9 h): 15 min counted, due Tuesday 1 Dec 16:30 (30 min Wed + 8 h 30 Tue... )
    assert first_response["state"] == "running"
    assert first_response["counted_seconds"] == 900
    # Wed 16:30-17:00 counts 30 min; Thu/Fri holidays; Mon 08:00-17:00 counts 9 h -> 9 h reached Mon 16:30
    assert first_response["due"] == "2026-11-30T16:30:00-05:00"


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [{"at": "2026-11-25T16:30:00", "type": "opened"}],
            "error: event 0: `at` '2026-11-25T16:30:00' has no UTC offset (naive timestamps are refused)",
        ),
        (
            [
                {"at": "2026-11-25T16:30:00-05:00", "type": "opened"},
                {"at": "2026-11-26T09:00:00-05:00", "type": "status", "to": "waiting_on_mars"},
            ],
            "error: event 1: policy 'alleo' has no status 'waiting_on_mars' "
            "(known: new, open, awaiting_customer, on_hold, closed)",
        ),
        (
            [
                {"at": "2026-11-25T16:30:00-05:00", "type": "opened"},
                {"at": "2026-11-26T09:00:00-05:00", "type": "reply", "by": "agent"},
                {"at": "2026-11-26T08:00:00-05:00", "type": "reply", "by": "customer"},
            ],
            "error: event 2: out of order: 2026-11-26T08:00:00-05:00 is before the previous event "
            "(2026-11-26T09:00:00-05:00)",
        ),
        (
            [
                {"at": "2026-11-25T16:30:00-05:00", "type": "opened"},
                {"at": "2026-11-26T09:00:00-05:00", "type": "severity", "to": 7},
            ],
            "error: event 1: policy 'alleo' has no severity 7 (known: 1 (Sev1), 2 (Sev2), 3 (Sev3), 4 (Sev4))",
        ),
        (
            [
                {"at": "2026-11-25T16:30:00-05:00", "type": "opened"},
                {"at": "2026-11-26T09:00:00-05:00", "type": "escalate"},
            ],
            "error: event 1: unknown type 'escalate' (expected one of: opened, reply, status, severity, "
            "triaged, path, tier, category, outside_incident)",
        ),
    ],
    ids=["naive-timestamp", "unknown-status", "out-of-order", "unknown-severity", "unknown-type"],
)
def test_bad_replay_input_exits_2_with_one_line_naming_the_event(sladesk, events, message):
    result = sladesk("sla", "replay", "-", stdin=_with_events(events))
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.rstrip("\n") == message


def test_unknown_policy_exits_2_naming_the_built_ins(sladesk):
    result = sladesk("sla", "replay", "-", stdin=json.dumps({**DESIGN_EXAMPLE, "policy": "acme"}))
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: unknown policy 'acme': not a built-in id (alli, alleo, aspenware, sourcegraph, choozle) "
        "nor a readable file"
    )


def test_input_that_is_not_json_exits_2(sladesk):
    result = sladesk("sla", "replay", "-", stdin="{not json")
    assert result.code == 2
    assert result.stderr.startswith("error: - is not JSON: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_due_prints_one_line_per_metric(sladesk):
    result = sladesk("sla", "due", "--policy", "alleo", "--severity", "Sev2", "--opened", "2026-12-24T09:00-05:00")
    assert result.code == 0, result.stderr
    # Thu 24 Dec (Christmas Eve) and Fri 25 Dec are holidays; Mon 28 Dec 08:00 + 9 h = 17:00
    assert result.stdout == "first_response: due 2026-12-28T17:00:00-05:00\n"


def test_due_with_unknown_metric_exits_2(sladesk):
    result = sladesk(
        "sla", "due", "--policy", "alleo", "--severity", "1", "--metric", "resolution", "--opened", "2026-12-01T09:00Z"
    )
    assert result.code == 2
    assert result.stderr.strip() == "error: policy 'alleo' has no metric 'resolution' (known: first_response)"


def test_explain_a_replay_file_lists_the_pause(sladesk, tmp_path):
    source = tmp_path / "choozle.json"
    source.write_text(
        json.dumps(
            {
                "policy": "choozle",
                "ticket": {"severity": "S1"},
                "events": [
                    {"at": "2026-12-01T10:00:00-07:00", "type": "opened"},
                    {"at": "2026-12-01T11:00:00-07:00", "type": "reply", "by": "agent"},
                    {"at": "2026-12-01T12:00:00-07:00", "type": "status", "to": "waiting_on_partner"},
                    {"at": "2026-12-02T12:00:00-07:00", "type": "status", "to": "open"},
                ],
                "now": "2026-12-02T13:00:00-07:00",
            }
        )
    )
    result = sladesk("sla", "explain", str(source), "--metric", "resolution")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    # S1 resolution is 1 business day on the business week (24 h): Tue 10:00-12:00 counts 2 h before the
    # pause, Wed 12:00-13:00 counts 1 h after it; the other 21 h run from Wed 13:00 to Thu 10:00
    assert lines[3] == (
        "Running: due Thursday 03 December 2026 10:00 MST (2026-12-03T10:00:00-07:00). "
        "21h of working time remains. Counted 3h."
    )
    assert "Tue 01 Dec 2026 12:00 MST  paused: status 'waiting_on_partner'." in lines
    assert "Wed 02 Dec 2026 12:00 MST  resumed." in lines


def test_policy_list_names_the_five_built_ins(sladesk):
    result = sladesk("policy", "list")
    assert result.code == 0
    for policy_id in ("alli", "alleo", "aspenware", "sourcegraph", "choozle"):
        assert f" {policy_id} " in result.stdout


def test_policy_show_gives_targets_in_words(sladesk):
    result = sladesk("policy", "show", "alleo")
    assert result.code == 0, result.stderr
    assert "  first_response: 5 business days (45h of working time) on Alleo support hours\n" in result.stdout
    assert "Thanksgiving Day" in result.stdout
    assert "- Only an organisation's support contacts open tickets." in result.stdout


def test_policy_show_writes_targets_in_the_units_a_policy_file_reads(sladesk):
    result = sladesk("policy", "show", "aspenware")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    level_2 = lines[lines.index("  first_response: 9h on Business hours") :]
    assert level_2[2] == (
        "  resolution (category Software defect, path Needs a new version): within 2 release versions (next releases "
        + ", ".join(moment.strftime("%Y-%m-%d") for moment in _next_releases(2))
        + ")"
    )
    assert "  resolution: 24h on Calendar time, from the first response" in lines
    assert "1d" not in result.stdout


def _next_releases(count: int) -> list[datetime]:
    """Aspenware's releases: every 4 weeks from Tue 6 Jan 2026 at 06:00 Mountain, the next `count` from now."""
    zone = ZoneInfo("America/Denver")
    moment = datetime(2026, 1, 6, 6, tzinfo=zone)
    now = datetime.now(UTC)
    while moment <= now:
        moment = datetime.combine(moment.date() + timedelta(weeks=4), moment.time(), tzinfo=zone)
    return [datetime.combine(moment.date() + timedelta(weeks=4 * i), moment.time(), tzinfo=zone) for i in range(count)]


def test_policy_test_runs_every_built_in_green(sladesk):
    result = sladesk("policy", "test")
    assert result.code == 0, result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    passed = int(summary.split()[0])
    assert summary == f"{passed} passed, 0 failed"
    assert passed >= 40


def test_policy_check_lists_every_problem_with_line_and_field(sladesk, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "\n".join(
            [
                "id: broken",
                "name: Broken",
                "timezone: Mars/Olympus",
                "calendars:",
                "  business: {hours: {mon-fri: '08:00-17:00'}}",
                "statuses:",
                "  - {id: new, name: New, kind: new}",
                "transitions: {}",
                "metrics:",
                "  first_response: {name: First response, calendar: business, stop: first_agent_reply}",
                "severities:",
                "  - code: S1",
                "    rank: 1",
                "    name: High",
                "    definition: Down.",
                "    targets: {first_response: 2 hourz}",
                "    colour: red",
                "",
            ]
        )
    )
    result = sladesk("policy", "check", str(broken))
    assert result.code == 1
    assert result.stdout.splitlines() == [
        f"{broken}:3: timezone: unknown time zone 'Mars/Olympus' (use an IANA name like America/New_York)",
        f"{broken}:16: severities[0].targets.first_response.due: unknown unit 'hourz' in duration '2 hourz' "
        "(use s, m, h or business days)",
        f"{broken}:17: severities[0].colour: unknown field 'colour'",
    ]


def test_policy_check_accepts_every_built_in_file(sladesk):
    files = sorted(
        str(p) for p in (ROOT / "src" / "sladesk" / "policy" / "builtin").glob("*.yaml") if ".tests." not in p.name
    )
    result = sladesk("policy", "check", *files)
    assert result.code == 0, result.stdout
    assert len(result.stdout.splitlines()) == 5


def test_an_impossible_unquoted_date_is_one_located_line(sladesk, tmp_path):
    text = (ROOT / "src" / "sladesk" / "policy" / "builtin" / "aspenware.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "dates.yaml"
    broken.write_text(text.replace('on: "12-25"}', "dates: [2026-12-32]}", 1), encoding="utf-8")
    line = text[: text.index('on: "12-25"}')].count("\n") + 1  # the Christmas rule's line
    expected = (
        f"{broken}:{line}: holidays.rules[5].dates[0]: Input should be a valid date or datetime, "
        "day value is outside expected range"
    )
    checked = sladesk("policy", "check", str(broken))
    assert (checked.code, checked.stdout.splitlines(), checked.stderr) == (1, [expected], "")
    due = sladesk("sla", "due", "--policy", str(broken), "--severity", "1", "--opened", "2026-12-01T09:00Z")
    assert (due.code, due.stderr.splitlines()) == (2, [f"error: {expected}"])


def test_policy_export_prints_a_built_in_as_shipped(sladesk):
    result = sladesk("policy", "export", "aspenware")
    assert result.code == 0, result.stderr
    shipped = (ROOT / "src" / "sladesk" / "policy" / "builtin" / "aspenware.yaml").read_text(encoding="utf-8")
    assert result.stdout == shipped


def test_policy_export_of_an_unknown_id_names_the_built_ins(sladesk):
    result = sladesk("policy", "export", "acme")
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: unknown built-in policy 'acme' (known: alli, alleo, aspenware, sourcegraph, choozle)"
    )


def test_policy_test_on_a_file_without_scenarios_says_so(sladesk, tmp_path):
    policy = tmp_path / "plain.yaml"
    text = (ROOT / "src" / "sladesk" / "policy" / "builtin" / "aspenware.yaml").read_text(encoding="utf-8")
    policy.write_text(text, encoding="utf-8")
    result = sladesk("policy", "test", str(policy))
    assert result.code == 1
    assert result.stdout.splitlines() == [
        f"{policy}: no scenarios (add `tests:` to it or write them in {tmp_path / 'plain.tests.yaml'})"
    ]


def test_due_says_when_a_metric_that_starts_later_starts(sladesk):
    result = sladesk("sla", "due", "--policy", "aspenware", "--severity", "L1", "--opened", "2026-12-01T09:00-07:00")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "first_response: due 2026-12-01T10:00:00-07:00",
        "resolution: not started (starts at the first response; then 24h on always)",
    ]


def test_version_prints_the_installed_package_version(sladesk):
    result = sladesk("--version")
    assert (result.code, result.stdout, result.stderr) == (0, f"sladesk {version('sladesk')}\n", "")


def test_db_upgrade_and_current_take_a_data_directory(sladesk, tmp_path):
    upgraded = sladesk("db", "upgrade", "--data-dir", str(tmp_path / "desk"))
    assert upgraded.code == 0, upgraded.stderr
    lines = upgraded.stdout.splitlines()
    assert lines[0] == f"database: sqlite:///{tmp_path / 'desk' / 'sladesk.db'}"
    head = lines[-1].removeprefix("at revision ")
    assert (tmp_path / "desk" / "sladesk.db").is_file()
    current = sladesk("db", "current", "--data-dir", str(tmp_path / "desk"))
    assert (current.code, current.stdout) == (0, f"{head} (head)\n")


def _command_paths(command, path=()):
    yield path
    for name, subcommand in getattr(command, "commands", {}).items():
        yield from _command_paths(subcommand, (*path, name))


def test_every_help_text_names_values_without_type_or_brace_placeholders(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    command = click_command(app)
    paths = list(_command_paths(command))
    assert {("policy", "check"), ("db", "upgrade"), ("sla", "due"), ("demo",)} <= set(paths)
    for path in paths:
        with pytest.raises(SystemExit) as exited:
            command.main(args=[*path, "--help"], prog_name="sladesk")
        assert exited.value.code == 0
        shown = capsys.readouterr().out
        assert f"Usage: sladesk {' '.join(path)}".replace("  ", " ") in shown
        assert re.search(r"<[a-z][\w\[\], ]*>|\{[A-Z|\[\].]+\}", shown) is None, shown
