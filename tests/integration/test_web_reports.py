"""The reports dashboard on SQLite and PostgreSQL: its tables, links, CSV and charts, the drill-down page and
the what-if form, for agents and admins; customers are refused.

The desk is `tests.support.report_desk`'s, at Wed 2 Dec 2026 09:00 UTC: the dashboard shows November 2026 by
default, whose figures that module works out by hand.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from sladesk.policy import builtin_source
from sladesk.services.policies import upload_policy
from sladesk.store import transaction
from tests.support.desk import Desk
from tests.support.report_desk import OUTSIDE_INCIDENT, report_desk
from tests.support.web import WebPerson

Cell = tuple[str, str | None]  # a cell's text and the link inside it


class _Tables(HTMLParser):
    """Every table of a page by its id: its body rows as (text, href) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[Cell]]] = {}
        self._table: str | None = None
        self._section = ""
        self._row: list[Cell] | None = None
        self._text: list[str] | None = None
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._table = found.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._text, self._href = [], None
        elif tag == "a" and self._text is not None:
            self._href = found.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._text is not None:
            self._row.append((" ".join("".join(self._text).split()), self._href))
            self._text = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def tables(page: str) -> dict[str, list[list[Cell]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def texts(rows: list[list[Cell]]) -> list[list[str]]:
    return [[text for text, _ in row] for row in rows]


def ids_of(href: str | None) -> list[int]:
    assert href is not None
    return [int(i) for i in parse_qs(urlsplit(href).query)["ids"][0].split(",")]


@pytest.fixture
def desk(sessions, tmp_path) -> Desk:
    return report_desk(sessions, tmp_path)


@pytest.fixture
def agent(desk) -> WebPerson:
    person = WebPerson(desk.app())
    person.sign_in("agent@example.com")
    return person


def test_the_dashboard_shows_last_months_figures_as_tables(agent):
    page = agent.get("/reports")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    found = tables(page.text)
    assert texts(found["attainment-table"]) == [
        ["p1", "first_response", "50.0%", "1", "1", "0", "0", "0"],
        ["p2", "first_response", "50.0%", "1", "0", "1", "1", "1"],
        ["p3", "first_response", "—", "0", "0", "0", "0", "0"],
    ]
    assert texts(found["times-table"]) == [
        ["p1", "first_response", "2", "1 h 00 min", "27 h 00 min", "27 h 00 min", "24 h 00 min"],
        ["p2", "first_response", "2", "3 h 00 min", "48 h 00 min", "48 h 00 min", "24 h 00 min"],
    ]
    breaches = [row for row in texts(found["breaches-table"]) if row[1:] != ["0", "0"]]
    assert breaches == [["2026-11-04", "1", "0"], ["2026-11-11", "0", "1"]]
    assert len(found["breaches-table"]) == 30  # a row for each day of November
    assert 'value="2026-11-01"' in page.text and 'value="2026-11-30"' in page.text
    words = html.unescape(page.text)
    assert f"Excused: ticket 5's first_response (due 2026-11-11 09:00 UTC): {OUTSIDE_INCIDENT}." in words
    assert "first_response: left out and counted beside: 1 cancelled" in page.text


def test_every_figure_links_to_its_tickets(agent):
    found = tables(agent.get("/reports").text)
    p1, p2, _ = found["attainment-table"]
    cell = "/reports/tickets?metric=first_response&outcome={}&severity={}&from=2026-11-01&to=2026-11-30"
    assert p1[2][1] == cell.format("judged", "p1")  # the attainment: the clocks judged
    assert p1[3][1] == cell.format("met", "p1")
    assert p1[4][1] == cell.format("breached", "p1")
    assert p1[5][1] is None  # no excused breach: nothing to list
    assert (p2[5][1], p2[6][1], p2[7][1]) == tuple(cell.format(o, "p2") for o in ("excused", "cancelled", "running"))
    eleventh = next(row for row in found["breaches-table"] if row[0][0] == "2026-11-11")
    assert ids_of(eleventh[2][1]) == [5]
    assert ids_of(found["times-table"][1][2][1]) == [3, 5]

    drill = agent.get(p1[4][1])
    assert drill.status_code == 200
    assert "First response, p1, breached, 1 Nov - 30 Nov 2026" in drill.text
    assert texts(tables(drill.text)["drill-down"]) == [
        ["#2", "Indexing stalled", "p1", "new", "Tue 3 Nov 2026, 09:00 UTC"]
    ]
    assert tables(drill.text)["drill-down"][0][0][1] == "/tickets/2"


def test_each_chart_has_its_csv_and_an_svg_drawn_on_the_server(agent):
    csv = agent.get("/reports/attainment.csv?from=2026-11-01&to=2026-11-30")
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == 'attachment; filename="attainment-2026-11-01-to-2026-11-30.csv"'
    assert csv.text.split("\r\n")[1] == "first_response,p1,50.0,50.0,1,1,0,0,0,0,0,50.0,1,1,1,2,"
    breaches = agent.get("/reports/breaches.csv").text.split("\r\n")
    assert breaches[0] == "start,end,breached,excused,tickets"
    assert [line for line in breaches[1:] if line and not line.endswith(",0,0,")] == [
        "2026-11-04T00:00:00Z,2026-11-05T00:00:00Z,1,0,2",
        "2026-11-11T00:00:00Z,2026-11-12T00:00:00Z,0,1,5",
    ]
    assert agent.get("/reports/times.csv").text.split("\r\n")[2] == "first_response,p2,2,10800,172800,172800,86400,3 5"
    for chart in ("attainment", "breaches", "times"):
        image = agent.get(f"/reports/charts/{chart}.svg")
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/svg+xml"
        assert image.text.startswith("<svg ")
        assert "<script" not in image.text  # nothing to run, nothing fetched from elsewhere
        assert "http://" not in image.text.replace("http://www.w3.org/", "").replace("http://pygal.org", "").replace(
            "http://github.com/Kozea/pygal", ""
        )
    attainment = agent.get("/reports/charts/attainment.svg").text
    assert "50.0%" in attainment and "first_response" in attainment


def test_another_period_is_chosen_by_its_days(agent):
    found = tables(agent.get("/reports?from=2026-11-01&to=2026-11-03").text)
    assert texts(found["attainment-table"]) == [["p1", "first_response", "100.0%", "1", "0", "0", "0", "1"]]
    assert len(found["breaches-table"]) == 3


def test_whatif_shows_both_sides_and_the_changed_ticket(agent):
    page = agent.get(
        "/reports/whatif",
        params={"policy": "sourcegraph", "overrides": "severities.p1.targets.first_response.due=30h"},
    )
    assert page.status_code == 200
    assert "Under sourcegraph@3 with 1 change" in page.text
    assert "7 tickets compared, from 2026-11-01 to 2026-11-30." in page.text
    found = tables(page.text)
    assert texts(found["whatif-rows"])[0] == ["first_response", "p1", "50.0%", "100.0%", "1", "2", "1", "0", "-1"]
    assert found["whatif-changes"] == [
        [
            ("#2", "/tickets/2"),
            ("first_response", None),
            ("breached", None),
            ("met", None),
            ("2026-11-04T09:00:00Z", None),
            ("2026-11-04T15:00:00Z", None),
        ]
    ]
    empty = agent.get("/reports/whatif")
    assert empty.status_code == 200 and "whatif-rows" not in empty.text


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/reports?from=2026-13-01", "from: &#39;2026-13-01&#39; is not a date like 2026-11-01"),
        ("/reports?from=2026-11-30&to=2026-11-01", "to: the last day must not come before the first"),
        ("/reports?from=9999-12-01&to=9999-12-31", "from: choose a day between the years 1970 and 9998"),
        ("/reports/tickets?ids=1,x", "ids: &#39;x&#39; is not a ticket number"),
        (
            "/reports/whatif?policy=sourcegraph&overrides=severities.p9.targets.first_response.due%3D1h",
            "overrides: severities.p9.targets.first_response.due: severities has no item with code or id",
        ),
    ],
)
def test_bad_input_is_a_422_page_naming_the_field(agent, path, detail):
    page = agent.get(path)
    assert page.status_code == 422
    assert detail in page.text


def test_customers_are_refused_and_admins_read_it_from_their_navigation(desk):
    customer = WebPerson(desk.app())
    customer.sign_in("customer@example.com")
    for path in ("/reports", "/reports/attainment.csv", "/reports/charts/times.svg", "/reports/tickets?ids=1"):
        assert customer.get(path).status_code == 403, path
    assert 'href="/reports"' not in customer.get("/portal").text
    draft = {"from": "2026-11-01", "to": "2026-11-30", "source": builtin_source("sourcegraph")}
    assert customer.submit("/reports/whatif", draft).status_code == 403  # with the customer's own form token
    admin = WebPerson(desk.app())
    admin.sign_in("admin@example.com")
    assert admin.get("/reports").status_code == 200
    assert '<a href="/reports">Reports</a>' in admin.get("/admin").text


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(desk):
    page = WebPerson(desk.app()).get("/reports")
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=/reports"


def test_drawing_charts_leaves_no_import_hook_behind():
    import sys

    import sladesk.web.reports  # noqa: F401 (pygal is imported with it)

    assert [type(finder).__name__ for finder in sys.meta_path if "pygal" in type(finder).__module__] == []


def test_the_whatif_policy_field_suggests_every_policy_and_its_stored_versions(desk, agent):
    for version in (3, 4):
        with transaction(desk.sessions) as session:
            upload_policy(
                session, desk.actors["admin"], builtin_source("alleo").replace("version: 2", f"version: {version}")
            )
    page = agent.get("/reports/whatif")
    assert 'list="policies"' in page.text
    datalist = page.text[page.text.index('<datalist id="policies">') : page.text.index("</datalist>")]
    assert re.findall(r'<option value="([^"]+)">([^<]+)</option>', datalist) == [
        ("alli", "Alli by PMG, current version (4)"),
        ("alleo", "Alleo Support, current version (4)"),
        ("alleo@3", "Alleo Support, version 3"),
        ("aspenware", "Aspenware, current version (3)"),
        ("sourcegraph", "Sourcegraph Support, current version (3)"),
        ("choozle", "Choozle Tech Ops, current version (3)"),
    ]


SOURCEGRAPH_30H = (
    builtin_source("sourcegraph")
    .replace("version: 3", "version: 4", 1)
    .replace("first_response: {due: 24h, goal: 2h}", "first_response: {due: 30h, goal: 2h}", 1)
)
NOVEMBER_DAYS = {"from": "2026-11-01", "to": "2026-11-30"}


def test_a_draft_pasted_or_chosen_as_a_file_is_compared_and_stored_nowhere(desk, agent):
    agent.get("/reports/whatif")
    pasted = agent.submit("/reports/whatif", {**NOVEMBER_DAYS, "source": SOURCEGRAPH_30H, "overrides": ""})
    assert pasted.status_code == 200, pasted.text
    assert "Under draft policy sourcegraph@4" in pasted.text
    assert "7 tickets compared, from 2026-11-01 to 2026-11-30." in pasted.text
    found = tables(pasted.text)
    assert texts(found["whatif-rows"])[0] == ["first_response", "p1", "50.0%", "100.0%", "1", "2", "1", "0", "-1"]
    assert [row[0] for row in found["whatif-changes"]] == [("#2", "/tickets/2")]

    agent.get("/reports/whatif")
    draft = ("draft.yaml", SOURCEGRAPH_30H.encode(), "application/yaml")
    chosen = agent.submit("/reports/whatif", {**NOVEMBER_DAYS, "source": ""}, files={"file": draft})
    assert chosen.status_code == 200, chosen.text
    assert texts(tables(chosen.text)["whatif-rows"]) == texts(found["whatif-rows"])
    versions = agent.get("/reports/whatif").text
    assert "sourcegraph@4" not in versions and "current version (3)" in versions  # nothing stored


def test_a_draft_with_problems_lists_them_by_line_and_compares_nothing(agent):
    agent.get("/reports/whatif")
    broken = SOURCEGRAPH_30H.replace("timezone: UTC", "timezone: Mars/Olympus_Mons", 1)
    line = broken.splitlines().index("timezone: Mars/Olympus_Mons") + 1
    page = agent.submit("/reports/whatif", {**NOVEMBER_DAYS, "source": broken})
    assert page.status_code == 422
    words = html.unescape(page.text)
    assert "1 problem in the draft: nothing was compared." in words
    assert f"Line {line}, timezone:" in words
    assert "whatif-rows" not in page.text
    assert "Mars/Olympus_Mons" in words  # the draft is kept in the form, to be corrected


def test_the_form_answers_a_policy_version_with_the_pages_own_address(agent):
    agent.get("/reports/whatif")
    fields = {**NOVEMBER_DAYS, "policy": "sourcegraph", "overrides": "severities.p1.targets.first_response.due=30h\n"}
    sent = agent.submit("/reports/whatif", fields)
    assert sent.status_code == 303
    assert sent.headers["location"] == (
        "/reports/whatif?from=2026-11-01&to=2026-11-30&policy=sourcegraph"
        "&overrides=severities.p1.targets.first_response.due%3D30h"
    )
    shown = agent.get(sent.headers["location"])
    assert texts(tables(shown.text)["whatif-rows"])[0][2:4] == ["50.0%", "100.0%"]


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"source": "  "}, "policy: choose a policy, or a draft&#39;s file or YAML"),
        ({"policy": "sourcegraph", "source": SOURCEGRAPH_30H}, "policy: give a policy or a draft, not both"),
        ({"policy": "sourcegraph", "to": "2026-10-01"}, "to: the last day must not come before the first"),
    ],
)
def test_the_form_refuses_what_it_cannot_compare(agent, fields, detail):
    agent.get("/reports/whatif")
    refused = agent.submit("/reports/whatif", {**NOVEMBER_DAYS, **fields})
    assert refused.status_code == 422
    assert detail in refused.text


def test_the_form_must_come_from_this_desk(agent):
    agent.get("/reports/whatif")
    forged = agent.submit("/reports/whatif", {**NOVEMBER_DAYS, "source": SOURCEGRAPH_30H}, csrf="forged")
    assert forged.status_code == 403
