"""sladesk oncall now / next / export on a desk's database, as an operator runs them.

On SQLite and PostgreSQL. The desk has the schedule of `tests.support.oncall`: weekly hand-offs at 09:00 New York time among Alice,
Bob and Carol from 2 March 2026 (14:00Z) to 30 March 2026, every hand-off after DST starts at 13:00Z.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy.engine import URL

from sladesk.services import Actor, Role, oncall
from sladesk.services.oncall import OverrideInput
from sladesk.store import make_engine, make_sessions, transaction, upgrade
from tests.support.database import Postgres, PostgresSchema
from tests.support.oncall import LAYERS
from tests.support.units import create_user

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)


def _seed(url: str) -> None:
    """Four agents, an admin, the schedule `primary`, and Carol's first day handed to Dave."""
    engine = make_engine(url)
    sessions = make_sessions(engine)
    ids = {}
    for key in ("alice", "bob", "carol", "dave"):
        user = create_user(sessions, None, email=f"{key}@example.com", name=key.title(), role=Role.AGENT, now=NOW)
        ids[key] = user.id
    admin = create_user(sessions, None, email="morgan@example.com", name="Morgan", role=Role.ADMIN, now=NOW)
    actor = Actor(admin.id, Role.ADMIN, None)
    layers = [dict(LAYERS[0], people=[ids["alice"], ids["bob"], ids["carol"]])]
    with transaction(sessions) as session:
        oncall.create_schedule(session, actor, "primary", "Primary", "America/New_York", layers, now=NOW)
        handover = OverrideInput(
            kind="replace",
            user_id=ids["dave"],
            replaces_user_id=ids["carol"],
            start=datetime(2026, 3, 16, 13, tzinfo=UTC),
            end=datetime(2026, 3, 17, 13, tzinfo=UTC),
        )
        oncall.add_override(session, actor, "primary", handover, now=NOW)
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a migrated desk (a SQLite file, or a schema of its own on the test PostgreSQL server)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("oncall") / "desk.db"
        url = URL.create("sqlite", database=str(path)).render_as_string()
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        _seed(url)
        yield url
        return
    server = Postgres()
    try:
        schema = PostgresSchema(server)
        try:
            url = schema.url.render_as_string(hide_password=False)
            _seed(url)
            yield url
        finally:
            schema.drop()
    finally:
        server.dispose()


def test_now_names_who_is_on_call_at_an_instant(sladesk, database):
    result = sladesk("oncall", "now", "primary", "--at", "2026-03-09T09:00:00-04:00", "--database-url", database)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == "primary at 2026-03-09T13:00:00Z: Bob <bob@example.com> (user 2)\n"
    before = sladesk("oncall", "now", "primary", "--at", "2026-03-09T12:59:00Z", "--database-url", database)
    assert before.stdout == "primary at 2026-03-09T12:59:00Z: Alice <alice@example.com> (user 1)\n"
    nobody = sladesk("oncall", "now", "primary", "--at", "2026-03-30T13:00:00Z", "--database-url", database)
    assert nobody.stdout == "primary at 2026-03-30T13:00:00Z: nobody is on call\n"


def test_next_names_who_follows_and_when(sladesk, database):
    result = sladesk("oncall", "next", "primary", "--after", "2026-03-10T00:00:00Z", "--database-url", database)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "primary next: Dave <dave@example.com> (user 4) from 2026-03-16T13:00:00Z to 2026-03-17T13:00:00Z\n"
    )


def test_export_prints_the_feeds_icalendar(sladesk, database):
    result = sladesk(
        "oncall", "export", "primary", "--from", "2026-03-01T00:00:00Z", "--to", "2026-03-20T00:00:00Z",
        "--database-url", database,
    )  # fmt: skip
    assert (result.code, result.stderr) == (0, "")
    events = [
        (str(e["UID"]), str(e["SUMMARY"]), e.decoded("DTSTART"), str(e["STATUS"]))
        for e in Calendar.from_ical(result.stdout).walk("VEVENT")
    ]
    assert events == [
        (
            "primary/weekly/0/20260302T140000Z",
            "On call: Alice (Primary)",
            datetime(2026, 3, 2, 14, tzinfo=UTC),
            "CONFIRMED",
        ),
        (
            "primary/weekly/1/20260309T130000Z",
            "On call: Bob (Primary)",
            datetime(2026, 3, 9, 13, tzinfo=UTC),
            "CONFIRMED",
        ),
        ("primary/override/1", "On call: Dave (Primary)", datetime(2026, 3, 16, 13, tzinfo=UTC), "CONFIRMED"),
        (
            "primary/weekly/2/20260316T130000Z",
            "On call: Carol (Primary)",
            datetime(2026, 3, 17, 13, tzinfo=UTC),
            "CONFIRMED",
        ),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("now", "secondary"), "error: no on-call schedule 'secondary'\n"),
        (("next", "secondary"), "error: no on-call schedule 'secondary'\n"),
        (("export", "secondary"), "error: no on-call schedule 'secondary'\n"),
        (
            ("now", "primary", "--at", "tomorrow"),
            "error: --at: 'tomorrow' is not an instant like 2026-03-09T09:00:00-05:00\n",
        ),
        (
            ("now", "primary", "--at", "2026-03-09T09:00"),
            "error: --at: '2026-03-09T09:00' has no UTC offset: add one, e.g. Z or -05:00\n",
        ),
        (
            ("next", "primary", "--after", "3pm"),
            "error: --after: '3pm' is not an instant like 2026-03-09T09:00:00-05:00\n",
        ),
        (
            ("export", "primary", "--from", "2026-03-09T00:00Z", "--to", "2026-03-01T00:00Z"),
            "error: --to: must be after --from\n",
        ),
    ],
)
def test_an_unknown_schedule_or_a_bad_instant_exits_2_with_one_line(sladesk, database, args, message):
    result = sladesk("oncall", *args, "--database-url", database)
    assert (result.code, result.stdout, result.stderr) == (2, "", message)
