"""sladesk report attainment / times / whatif / forecast on a desk's database, as an operator runs them.

On SQLite and PostgreSQL. The desk is `tests.support.report_desk`'s: seven Sourcegraph tickets whose November
2026 figures are worked out by hand in that module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from sladesk.store import make_engine, make_sessions, upgrade
from tests.support.database import Postgres, PostgresSchema
from tests.support.report_desk import NOW, report_desk

NOVEMBER = ("--from", "2026-11-01", "--to", "2026-11-30", "--now", NOW)


def _seed(url: str, directory: Path) -> None:
    engine = make_engine(url)
    try:
        report_desk(make_sessions(engine), directory)
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the report desk (a SQLite file, or a schema of its own on the test PostgreSQL server)."""
    directory = tmp_path_factory.mktemp("reports")
    if request.param == "sqlite":
        url = URL.create("sqlite", database=str(directory / "desk.db")).render_as_string()
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        _seed(url, directory)
        yield url
        return
    server = Postgres()
    try:
        schema = PostgresSchema(server)
        try:
            url = schema.url.render_as_string(hide_password=False)
            _seed(url, directory)
            yield url
        finally:
            schema.drop()
    finally:
        server.dispose()


def table_rows(output: str) -> list[list[str]]:
    """The body rows of the rich tables in `output`, each as its stripped cells."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")] for line in output.splitlines() if line.startswith("│")
    ]


def test_attainment_prints_percentages_counts_and_what_is_left_out(sladesk, database):
    result = sladesk("report", "attainment", *NOVEMBER, "--database-url", database)
    assert (result.code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "Attainment from 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z"
    assert table_rows(result.stdout) == [
        ["first_response", "p1", "50.0%", "50.0%", "1", "1", "0", "0", "0", "50.0%"],
        ["first_response", "p2", "50.0%", "100.0%", "1", "0", "1", "1", "1", "0.0%"],
        ["first_response", "p3", "—", "—", "0", "0", "0", "0", "0", "—"],
    ]
    notes = lines[lines.index("Excused breaches (counted as breaches above, as met under “Excused as met”):") :]
    assert notes[1] == "- ticket 5, first_response, due 2026-11-11T09:00:00Z: Upstream code host outage"
    assert notes[2] == "What the figures leave out:"
    assert (
        "- first_response: left out and counted beside: 1 cancelled (resolved or closed in time without a reply), "
        "1 still running and not yet due at the period's end, 1 without a due target (none, or only an "
        "informational goal), 0 not started."
    ) in notes


def test_attainment_as_csv_on_standard_output_by_severity_and_tier(sladesk, database):
    result = sladesk(
        "report", "attainment", *NOVEMBER, "--by", "severity,tier", "--csv", "-", "--database-url", database
    )
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "metric,severity,tier,attainment_percent,attainment_excused_percent,met,breached,excused,cancelled,running,"
        "no_target,not_started,goal_percent,goal_met,goal_missed,met_tickets,breached_tickets,excused_tickets",
        "first_response,p1,enterprise,50.0,50.0,1,1,0,0,0,0,0,50.0,1,1,1,2,",
        "first_response,p2,enterprise,,,0,0,0,0,1,0,0,,0,0,,,",
        "first_response,p2,team,50.0,100.0,1,0,1,1,0,0,0,0.0,0,2,3,,5",
        "first_response,p3,enterprise,,,0,0,0,0,0,1,0,,0,0,,,",
    ]


def test_times_table_and_csv_file(sladesk, database, tmp_path):
    shown = sladesk("report", "times", *NOVEMBER, "--database-url", database)
    assert (shown.code, shown.stderr) == (0, "")
    assert table_rows(shown.stdout) == [
        ["first_response", "p1", "2", "1 h 00 min", "27 h 00 min", "27 h 00 min", "24 h 00 min"],
        ["first_response", "p2", "2", "3 h 00 min", "48 h 00 min", "48 h 00 min", "24 h 00 min"],
    ]
    target = tmp_path / "times.csv"
    written = sladesk("report", "times", *NOVEMBER, "--csv", str(target), "--database-url", database)
    assert written.code == 0
    assert table_rows(written.stdout) == table_rows(shown.stdout)
    assert written.stderr == f"wrote 2 rows to {target}\n"
    assert target.read_text().splitlines() == [
        "metric,severity,count,p50_seconds,p90_seconds,max_seconds,target_seconds,tickets",
        "first_response,p1,2,3600,97200,97200,86400,1 2",
        "first_response,p2,2,10800,172800,172800,86400,3 5",
    ]


def test_organisations_are_named_and_no_grouping_is_the_whole_desk(sladesk, database):
    named = sladesk("report", "times", *NOVEMBER, "--by", "organisation", "--csv", "-", "--database-url", database)
    assert (named.code, named.stderr) == (0, "")
    assert named.stdout.splitlines()[1:] == [
        "first_response,Acme,2,3600,97200,97200,86400,1 2",
        "first_response,Globex,2,10800,172800,172800,86400,3 5",
    ]
    desk = sladesk("report", "attainment", *NOVEMBER, "--by", "", "--database-url", database)
    assert (desk.code, desk.stderr) == (0, "")
    assert table_rows(desk.stdout) == [["first_response", "50.0%", "75.0%", "2", "1", "1", "1", "1", "25.0%"]]


def test_whatif_with_a_longer_p1_target_meets_the_late_reply(sladesk, database):
    change = "severities.p1.targets.first_response.due=30h"
    args = ("report", "whatif", "--policy", "sourcegraph", "--set", change, *NOVEMBER, "--database-url", database)
    result = sladesk(*args)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "What if under sourcegraph@3 with 1 change, from 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z"
    assert "7 tickets compared." in lines
    assert table_rows(result.stdout) == [
        ["first_response", "p1", "50.0%", "100.0%", "1", "2", "1", "0", "-1"],
        ["first_response", "p2", "50.0%", "50.0%", "1", "1", "1", "1", "0"],
        ["first_response", "p3", "—", "—", "0", "0", "0", "0", "0"],
        ["2", "first_response", "breached", "met", "2026-11-04T09:00:00Z", "2026-11-04T15:00:00Z"],
    ]
    changes = sladesk(*args, "--changes-csv", "-")
    assert changes.stdout.splitlines() == [
        "ticket,metric,before,after,due_before,due_after",
        "2,first_response,breached,met,2026-11-04T09:00:00Z,2026-11-04T15:00:00Z",
    ]


def test_forecast_at_the_end_of_november(sladesk, database):
    result = sladesk("report", "forecast", "--now", "2026-12-01T00:00:00Z", "--database-url", database)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "Breach forecast at 2026-12-01T00:00:00Z: no running clock is forecast to breach.\n"
        "1 running clock judged; 0 paused clocks left out (they cannot breach while paused).\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("attainment", "--by", "colour"),
            "error: --by: no dimension 'colour' (known: severity, tier, organisation, team, assignee, policy_version)",
        ),
        (
            ("times", "--from", "2026-13-01"),
            "error: --from: '2026-13-01' is neither a date like 2026-11-01 nor an "
            "instant like 2026-11-01T09:00:00-05:00",
        ),
        (
            ("attainment", "--from", "2026-11-01T00:00:00"),
            "error: --from: '2026-11-01T00:00:00' has no UTC offset: add one, e.g. Z or -05:00",
        ),
        (
            ("attainment", "--from", "2026-11-30", "--to", "2026-11-01"),
            "error: --to: the period must end after it starts (2026-11-30T00:00:00Z to 2026-11-02T00:00:00Z)",
        ),
        (
            ("times", "--to", "9999-12-31"),
            "error: --to: give an instant between the years 1970 and 9998",
        ),
        (
            ("whatif", "--from", "2026-11-01"),
            "error: CANDIDATE: give the policy to replay under (alleo@2, a draft's file) or --policy",
        ),
        (
            ("whatif", "--policy", "sourcegraph", "--set", "severities.p9.targets.first_response.due=30h"),
            "error: --set: severities.p9.targets.first_response.due: severities has no item with code or id 'p9' "
            "(known: p1, p2, p3)",
        ),
    ],
    ids=["unknown-dimension", "bad-date", "naive-instant", "backwards", "far-future", "no-candidate", "bad-override"],
)
def test_bad_input_exits_2_naming_the_option(sladesk, database, args, message):
    result = sladesk("report", *args, "--now", NOW, "--database-url", database)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == message + "\n"
