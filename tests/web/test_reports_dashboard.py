"""The reports dashboard's clickable charts, its drill-down by cell and its forecast section, on SQLite and
PostgreSQL.

The desk is `tests.support.report_desk`'s, at Wed 2 Dec 2026 09:00 UTC, showing November 2026 by default.
Its p1 first responses: ticket 1 met, 2 breached (Nov 4). Its p2 first responses: 3 met, 4 cancelled, 5
excused (breached Nov 11 during an outside incident), 7 running at the period's end.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

import sladesk.web.reports
from sladesk.reports import Period
from sladesk.services import Role
from sladesk.services.actors import Actor
from sladesk.services.reports import attainment_by_replay
from sladesk.services.tickets import change_status, open_ticket
from sladesk.store import reading
from tests.support.desk import Desk
from tests.support.report_desk import OUTSIDE_INCIDENT, at, report_desk
from tests.support.units import committed, seed_demo
from tests.support.web import WebPerson

NOVEMBER = "from=2026-11-01&to=2026-11-30"
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'self'"
DASHBOARD_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def cell(metric: str, outcome: str, severity: str) -> str:
    return f"/reports/tickets?metric={metric}&outcome={outcome}&severity={severity}&{NOVEMBER}"


class _Rows(HTMLParser):
    """The body rows of the table with the id given, as the text of each cell."""

    def __init__(self, table: str) -> None:
        super().__init__()
        self.table = table
        self.rows: list[list[str]] = []
        self._inside = False
        self._row: list[str] | None = None
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._inside = dict(attrs).get("id") == self.table
        elif (tag == "tbody" and self._inside) or (tag == "tr" and self._row is not None):
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._text is not None:
            self._row.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._row:
            self.rows.append(self._row)
            self._row = []
        elif tag in ("tbody", "table"):
            self._inside, self._row = False, None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def rows(page: str, table: str) -> list[list[str]]:
    parser = _Rows(table)
    parser.feed(page)
    return parser.rows


def bar_links(svg: str) -> list[str]:
    """Every link in a chart, in drawing order, as the browser reads it."""
    return [html.unescape(href) for href in re.findall(r'<a target="_top" xlink:href="([^"]*)"', svg)]


@pytest.fixture
def desk(sessions, tmp_path) -> Desk:
    return report_desk(sessions, tmp_path)


@pytest.fixture
def agent(desk) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in("agent@example.com")
    return person


def test_each_bar_links_to_its_tickets_and_the_charts_have_their_own_policy(agent):
    page = agent.get("/reports")
    assert page.headers["content-security-policy"] == DASHBOARD_POLICY
    assert (
        f'<object class="chart" type="image/svg+xml" data="/reports/charts/breaches.svg?{NOVEMBER.replace("&", "&amp;")}"'
        in page.text
    )
    assert "object-src" not in agent.get("/reports/whatif").headers["content-security-policy"]

    attainment = agent.get("/reports/charts/attainment.svg")
    assert attainment.headers["content-security-policy"] == CHART_POLICY
    assert "<script" not in attainment.text
    # one series per metric, one bar per severity: p3 judged nothing, so it has no bar and no link
    assert bar_links(attainment.text) == [
        cell("first_response", "judged", "p1"),
        cell("first_response", "judged", "p2"),
    ]
    breaches = agent.get("/reports/charts/breaches.svg")
    assert breaches.headers["content-security-policy"] == CHART_POLICY
    assert bar_links(breaches.text) == [  # the breached series first, then the excused one
        "/reports/tickets?ids=2&about=breached+in+the+day+from+2026-11-04",
        "/reports/tickets?ids=5&about=excused+in+the+day+from+2026-11-11",
    ]
    p1 = "/reports/tickets?ids=1%2C2&about=first_response%2C+p1%3A+stopped"
    p2 = "/reports/tickets?ids=3%2C5&about=first_response%2C+p2%3A+stopped"
    times = agent.get("/reports/charts/times.svg")
    assert bar_links(times.text) == [p1, p2] * 3  # p50, p90 and the target of each row


CELLS = [  # (outcome, severity, the tickets listed), from the module's table
    ("judged", "p1", ["#1", "#2"]),
    ("breached", "p1", ["#2"]),
    ("judged", "p2", ["#3", "#5"]),
    ("excused", "p2", ["#5"]),
    ("cancelled", "p2", ["#4"]),
    ("running", "p2", ["#7"]),
    ("met", "p3", []),
]


def test_a_cell_lists_exactly_its_tickets(agent):
    for outcome, severity, listed in CELLS:
        page = agent.get(cell("first_response", outcome, severity))
        assert page.status_code == 200
        said = "judged (met, breached or excused)" if outcome == "judged" else outcome
        assert f"First response, {severity}, {said}, 1 Nov - 30 Nov 2026" in page.text
        assert [row[0] for row in rows(page.text, "drill-down")] == listed, (outcome, severity)
        assert "only the first" not in page.text
    assert "No ticket is behind this figure" in page.text  # the last: p3 met nothing


def test_the_dashboard_table_links_by_cell_and_a_long_list_says_it_is_cut(agent, monkeypatch):
    page = agent.get("/reports")
    assert html.escape(cell("first_response", "excused", "p2")) in page.text
    assert html.escape(cell("first_response", "breached", "p1")) in page.text
    section = page.text[page.text.index('id="attainment"') : page.text.index('id="breaches"')]
    assert "ids=" not in section  # the attainment figures carry no ticket lists

    monkeypatch.setattr(sladesk.web.reports, "MAX_DRILL_TICKETS", 1)
    cut = agent.get(cell("first_response", "judged", "p1"))
    assert [row[0] for row in rows(cut.text, "drill-down")] == ["#1"]
    assert "There are more than 1: only the first 1 by ticket number are shown." in cut.text


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("metric=answer&outcome=met&severity=p1", "metric: &#39;answer&#39; is not a metric"),
        ("metric=first_response&outcome=late&severity=p1", "outcome: &#39;late&#39; is not an outcome"),
        ("metric=first_response&outcome=met&severity=p9", "severity: &#39;p9&#39; is not a severity"),
        ("metric=first_response&outcome=met&severity=p1&from=2026-11-31", "from: &#39;2026-11-31&#39; is not a date"),
    ],
)
def test_a_bad_cell_is_a_422_page_naming_the_field(agent, query, detail):
    page = agent.get(f"/reports/tickets?{query}")
    assert page.status_code == 422
    assert detail in page.text


def test_the_forecast_lists_the_clocks_that_will_breach(desk, agent):
    empty = agent.get("/reports")
    assert "No running clock of an open ticket is forecast to breach." in empty.text
    assert 'id="forecast-table"' not in empty.text

    # a p2 opened at 08:00 and moved to awaiting the customer without a reply: its first response runs on
    agent_actor = desk.actors["agent"]
    opened = committed(open_ticket)(
        desk.sessions,
        agent_actor,
        subject="Batch changes fail",
        description="Batch changes fail.",
        severity="p2",
        organisation_id=desk.ids["Acme"],
        requester_id=desk.ids["customer"],
        now=at("2026-12-02T08:00:00Z"),
    )
    committed(change_status)(
        desk.sessions, agent_actor, opened.ticket.id, "awaiting_customer", now=at("2026-12-02T08:30:00Z")
    )
    page = agent.get("/reports")
    assert rows(page.text, "forecast-table") == [
        [
            f"#{opened.ticket.id}",
            "p2",
            "first_response",
            "Thu 3 Dec 2026, 08:00 UTC",
            "The ticket is waiting (awaiting_customer), but its first response clock does not pause there: it runs"
            " out at 2026-12-03 08:00 UTC unless support acts first.",
        ]
    ]
    assert "No running clock" not in page.text


def test_on_the_demo_desk_every_attainment_figure_and_bar_lists_what_a_full_replay_counts(sessions, tmp_path):
    """Last month (October 2026) on the demo desk: each cell's page lists exactly the tickets that replaying
    every ticket's history puts behind that count, among them Sev1's breach reached before a downgrade."""
    demo = Desk(sessions, attachments=tmp_path / "attachments")
    now = datetime(2026, 11, 29, 23, tzinfo=UTC)
    demo.clock.set(now)
    seed_demo(sessions, now)
    with reading(sessions) as session:
        replayed = attainment_by_replay(
            session,
            Actor(0, Role.ADMIN, None),
            Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
            by=("severity",),
            now=now,
            tickets_per_cell=None,
        )
    expected: dict[tuple[str, str | None, str], list[int]] = {}
    for row in replayed.rows:
        behind = {outcome.value: sorted(ids) for outcome, ids in row.tickets.items() if ids}
        behind["judged"] = sorted(t for o in ("met", "breached", "excused") for t in behind.get(o, []))
        expected |= {(row.metric, row.group[0][1], outcome): ids for outcome, ids in behind.items() if ids}

    manager = WebPerson(demo.app())
    manager.sign_in("morgan@sladesk.example", "demo-morgan")
    page = manager.get("/reports")
    section = page.text[page.text.index('id="attainment"') : page.text.index('id="breaches"')]
    links = [html.unescape(href) for href in re.findall(r'href="(/reports/tickets\?[^"]*)"', section)]
    listed = {}
    for link in links:
        query = parse_qs(urlsplit(link).query)
        assert (query["from"], query["to"]) == (["2026-10-01"], ["2026-10-31"])
        drill = manager.get(link)
        assert drill.status_code == 200, link
        key = (query["metric"][0], query["severity"][0], query["outcome"][0])
        listed[key] = [int(row[0].lstrip("#")) for row in rows(drill.text, "drill-down")]
    assert listed == expected
    assert len(listed[("first_response", "Sev1", "breached")]) == 2  # one of them breached before a downgrade
    chart = manager.get("/reports/charts/attainment.svg").text
    judged = [link for link in links if "outcome=judged" in link]
    assert sorted(bar_links(chart)) == sorted(judged)


def test_excused_breaches_past_the_limit_for_one_reason_are_counted_in_one_line(agent, monkeypatch):
    named = html.unescape(agent.get("/reports").text)
    assert f"Excused: ticket 5's first_response (due 2026-11-11 09:00 UTC): {OUTSIDE_INCIDENT}." in named
    assert "more breach" not in named

    monkeypatch.setattr(sladesk.web.reports, "MAX_EXCUSED_LINES", 0)
    counted = html.unescape(agent.get("/reports").text)
    assert "Excused: ticket 5's" not in counted
    assert (
        f"Excused: 1 more breach for the same reason ({OUTSIDE_INCIDENT}); the Excused figures link to all their "
        "tickets." in counted
    )
