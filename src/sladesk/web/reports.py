"""The reports dashboard: attainment, times and breaches as charts, each with its CSV and its tickets, and
the breach forecast.

The charts are drawn on the server by pygal as SVG documents and shown with `<object>`, so that each bar is
a link to the tickets behind it (an `<img>` cannot be clicked into). The page runs no script for them and
loads nothing from elsewhere: the charts are served under a Content-Security-Policy of their own (no
script, pygal's own inline `<style>`, framed by the desk's pages only), and the dashboard's policy allows
the desk's own objects. pygal's script (tooltips, which fetch their code from a CDN) is turned off and its
inline configuration left out. Every chart has a table of the same numbers under it, each figure linking to
the tickets behind it, its CSV, and what it leaves out.

The attainment report is read without its tickets (`tickets_per_cell=0`), as a large desk needs: its
figures link to `/reports/tickets` by cell (metric, outcome, severity and period), and that page reads the
cell's tickets on their own, the first `MAX_DRILL_TICKETS` by ticket number. The breaches and times figures
still link by the ids their reports carry.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import pygal  # type: ignore[import-untyped]
from fastapi import Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pygal.style import Style  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from sladesk.errors import PolicyError, Problem
from sladesk.reports.breach_timeline import BreachBucket, BreachTimeline
from sladesk.reports.forecast import Forecast
from sladesk.reports.model import AttainmentReport, ExcusedBreach, Outcome, Period, TimesReport, TimesRow
from sladesk.reports.tables import (
    Column,
    Table,
    attainment_table,
    breaches_table,
    display_value,
    previous_month,
    times_table,
    whatif_changes_table,
    whatif_table,
)
from sladesk.reports.whatif import WhatIfReport
from sladesk.services import reports as report_services
from sladesk.services.actors import Actor
from sladesk.services.errors import InvalidFieldError, NotFoundError
from sladesk.services.forecast import breaches_over_time, forecast_report
from sladesk.services.policies import all_policies, versions_of
from sladesk.services.views import ticket_view
from sladesk.services.whatif import Candidate, whatif_report
from sladesk.store import reading
from sladesk.web.admin import uploaded_policy_text
from sladesk.web.pages import CheckedForm, Staff, field, now_of, page_router, redirect, render, sessions_of

# pygal appends an import hook for its map plugins (`pygal.maps.*`, unused here) that has no `find_spec`, so
# Python would warn at every import no other finder resolves, in every process that drew a chart.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

router = page_router()

MAX_DRILL_TICKETS = 100
MAX_OVERRIDES = 10
MAX_EXCUSED_LINES = 10  # excused breaches named per reason on the dashboard
# what a cell's drill-down may list: one outcome, or the clocks attainment judges (met, breached, excused)
JUDGED = "judged"
JUDGED_OUTCOMES = (Outcome.MET, Outcome.BREACHED, Outcome.EXCUSED)
DRILL_OUTCOMES = (JUDGED, *(outcome.value for outcome in Outcome))
Chart = Literal["attainment", "breaches", "times"]
ChartName = Annotated[Chart, Path()]
CSV_TYPE = "text/csv; charset=utf-8"
SVG_TYPE = "image/svg+xml"
# The desk's own colours (app.css): met green, breached red, excused amber, target grey.
CHART_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2328",
    foreground_strong="#1f2328",
    foreground_subtle="#59636e",
    font_family="system-ui, sans-serif",
    colors=("#0b5cad", "#1a7f37", "#b35900", "#6e7781", "#8250df"),
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@dataclass(frozen=True)
class Link:
    text: str
    href: str | None  # None: nothing to list


@dataclass(frozen=True)
class PolicyChoice:
    """A value the what-if's policy field suggests, and the words beside it."""

    value: str
    label: str


@dataclass(frozen=True)
class ForecastView:
    """One clock forecast to breach, as the dashboard lists it."""

    ticket: Link
    metric: str
    severity: str
    due: datetime
    reason: str


@dataclass(frozen=True)
class ChartView:
    """One chart on the page: its image, its table of the same numbers, its CSV, and its exclusions."""

    key: Chart
    title: str
    image: str
    alt: str
    csv: str
    headings: tuple[str, ...]
    rows: tuple[tuple[Link, ...], ...]
    exclusions: tuple[str, ...]


def _period_of(request: Request) -> Period:
    """The period of the query's `from` and `to` (see `_period_from`)."""
    return _period_from(request.query_params, now_of(request))


def _period_from(days: Mapping[str, str], now: datetime) -> Period:
    """The period of `from` and `to` (dates; `to` included), by default the calendar month before `now`'s (UTC)."""
    last_month, this_month = previous_month(now)
    start = _day(days.get("from", ""), "from")
    end = _day(days.get("to", ""), "to")
    period = Period(
        start if start is not None else last_month, end + timedelta(days=1) if end is not None else this_month
    )
    if period.start >= period.end:
        raise InvalidFieldError("to", "the last day must not come before the first")
    if period.end - period.start > timedelta(days=366):
        raise InvalidFieldError("to", "choose a period of at most a year")
    return period


def _day(text: str, name: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidFieldError(name, f"{text!r} is not a date like 2026-11-01") from None
    if not 1970 <= day.year <= 9998:
        raise InvalidFieldError(name, "choose a day between the years 1970 and 9998")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _period_query(period: Period) -> dict[str, str]:
    return {"from": period.start.date().isoformat(), "to": (period.end - timedelta(days=1)).date().isoformat()}


def _tickets_link(ids: tuple[int, ...] | list[int], about: str, text: str) -> Link:
    if not ids:
        return Link(text, None)
    query = urlencode({"ids": ",".join(str(i) for i in ids[:MAX_DRILL_TICKETS]), "about": about})
    return Link(text, f"/reports/tickets?{query}")


def _cell_link(period: Period, metric: str, severity: str | None, outcome: str, count: int, text: str) -> Link:
    """A link to the drill-down of one attainment cell: `outcome` is an outcome's value or "judged"."""
    if not count:
        return Link(text, None)
    query = {"metric": metric, "outcome": outcome, "severity": severity or "", **_period_query(period)}
    return Link(text, f"/reports/tickets?{urlencode(query)}")


def _bucket(period: Period) -> Literal["day", "week"]:
    return "day" if period.end - period.start <= timedelta(days=31) else "week"


def _attainment(
    request: Request, actor: Actor, period: Period, *, tickets_per_cell: int | None = 0
) -> AttainmentReport:
    with reading(sessions_of(request)) as session:
        return report_services.attainment_report(
            session, actor, period, by=("severity",), now=now_of(request), tickets_per_cell=tickets_per_cell
        )


def _times(request: Request, actor: Actor, period: Period) -> TimesReport:
    with reading(sessions_of(request)) as session:
        return report_services.times_report(session, actor, period, by=("severity",), now=now_of(request))


def _breaches(request: Request, actor: Actor, period: Period) -> BreachTimeline:
    with reading(sessions_of(request)) as session:
        return breaches_over_time(session, actor, period, bucket=_bucket(period), now=now_of(request))


def _forecast(request: Request, actor: Actor) -> Forecast:
    with reading(sessions_of(request)) as session:
        return forecast_report(session, actor, now=now_of(request))


def _severity_code(group: tuple[tuple[Any, str | None], ...]) -> str | None:
    return next((value for dimension, value in group if dimension == "severity"), None)


def _severity(group: tuple[tuple[Any, str | None], ...]) -> str:
    return next((value or "none" for dimension, value in group if dimension == "severity"), "whole desk")


# The charts as pygal draws them


def _chart(kind: Any, title: str, **config: Any) -> Any:
    return kind(
        title=title,
        style=CHART_STYLE,
        js=[],  # no tooltips script: it would come from a CDN, and the pages run none inline
        # the printed values lie over the bars: a click on one goes through to its bar's link
        css=("file://style.css", "file://graph.css", "inline:.text-overlay { pointer-events: none; }"),
        disable_xml_declaration=True,
        width=720,
        height=360,
        legend_at_bottom=True,
        print_values=True,
        explicit_size=True,
        **config,
    )


def _svg(chart: Any) -> str:
    # pygal writes its configuration as an inline script even with js=[]; an <img> would never run it
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def _bar(value: float | None, href: str | None) -> float | dict[str, Any] | None:
    """A bar's value, linking to `href` (the tickets behind it) in the page that shows the chart."""
    if value is None or href is None:
        return value
    return {"value": value, "xlink": {"href": href, "target": "_top"}}


def attainment_chart(report: AttainmentReport) -> str:
    """Attainment per severity, one series per metric; each bar links to the clocks it judged."""
    chart = _chart(pygal.Bar, "Attainment per severity (%)", range=(0, 100), value_formatter=lambda v: f"{v:.1f}%")
    severities = list(dict.fromkeys(_severity(row.group) for row in report.rows))
    chart.x_labels = severities
    for metric in dict.fromkeys(row.metric for row in report.rows):
        values: list[float | dict[str, Any] | None] = []
        for severity in severities:
            row = next((r for r in report.rows if r.metric == metric and _severity(r.group) == severity), None)
            figure = row.attainment if row is not None else None
            if row is None or figure is None:
                values.append(None)
                continue
            judged = row.met + row.breached + row.excused
            link = _cell_link(report.period, metric, _severity_code(row.group), JUDGED, judged, "")
            values.append(_bar(round(figure * 100, 1), link.href))
        chart.add(metric, values)
    return _svg(chart)


def breaches_chart(timeline: BreachTimeline) -> str:
    """Breaches per day or week, breached and excused stacked; each bar links to its tickets."""
    breached = [sum(1 for b in bucket.breaches if b.excuse is None) for bucket in timeline.buckets]
    excused = [sum(1 for b in bucket.breaches if b.excuse is not None) for bucket in timeline.buckets]
    links = [_breach_links(timeline, bucket) for bucket in timeline.buckets]
    most = max((a + b for a, b in zip(breached, excused, strict=True)), default=0)
    chart = _chart(
        pygal.StackedBar,
        f"Breaches per {timeline.bucket}",
        value_formatter=lambda v: f"{v:.0f}",
        y_labels=list(range(0, most + 2)),  # whole breaches only
        print_zeroes=False,
        x_label_rotation=45,
        show_minor_x_labels=False,
        x_labels_major_every=7 if timeline.bucket == "day" else 1,
    )
    chart.x_labels = [bucket.start.date().isoformat() for bucket in timeline.buckets]
    chart.add("Breached", [_bar(n, link.href) for n, (link, _) in zip(breached, links, strict=True)])
    chart.add("Excused", [_bar(n, link.href) for n, (_, link) in zip(excused, links, strict=True)])
    return _svg(chart)


def _breach_links(timeline: BreachTimeline, bucket: BreachBucket) -> tuple[Link, Link]:
    """The links to one bucket's breached and excused tickets."""
    label = bucket.start.date().isoformat()
    breached = sorted({b.ticket_id for b in bucket.breaches if b.excuse is None})
    excused = sorted({b.ticket_id for b in bucket.breaches if b.excuse is not None})
    return (
        _tickets_link(breached, f"breached in the {timeline.bucket} from {label}", str(len(breached))),
        _tickets_link(excused, f"excused in the {timeline.bucket} from {label}", str(len(excused))),
    )


def times_chart(report: TimesReport) -> str:
    """p50, p90 and the target per severity and metric; each bar links to the clocks that stopped."""
    chart = _chart(pygal.Bar, "Working time to the stop (hours)", value_formatter=lambda v: f"{v:.1f} h")
    chart.x_labels = [f"{_severity(row.group)} {row.metric}" for row in report.rows]
    links = [_stopped_link(row).href for row in report.rows]
    for name, values in (
        ("p50", [row.p50_seconds for row in report.rows]),
        ("p90", [row.p90_seconds for row in report.rows]),
        ("Target", [row.target_seconds for row in report.rows]),
    ):
        chart.add(
            name, [_bar(None if v is None else round(v / 3600, 2), link) for v, link in zip(values, links, strict=True)]
        )
    return _svg(chart)


def _stopped_link(row: TimesRow) -> Link:
    return _tickets_link(row.tickets, f"{row.metric}, {_severity(row.group)}: stopped", str(row.count))


# The tables under the charts


def _attainment_view(report: AttainmentReport, query: str) -> ChartView:
    rows = []
    for row in report.rows:
        code = _severity_code(row.group)

        def cell(outcome: str, count: int, text: str, metric: str = row.metric, code: str | None = code) -> Link:
            return _cell_link(report.period, metric, code, outcome, count, text)

        judged = row.met + row.breached + row.excused
        rows.append(
            (
                Link(_severity(row.group), None),
                Link(row.metric, None),
                cell(JUDGED, judged, display_value(_PERCENT, row.attainment)),
                cell(Outcome.MET.value, row.met, str(row.met)),
                cell(Outcome.BREACHED.value, row.breached, str(row.breached)),
                cell(Outcome.EXCUSED.value, row.excused, str(row.excused)),
                cell(Outcome.CANCELLED.value, row.cancelled, str(row.cancelled)),
                cell(Outcome.RUNNING.value, row.running, str(row.running)),
            )
        )
    exclusions = report.exclusions + _excused_lines(report.excused)
    return ChartView(
        key="attainment",
        title="Attainment per severity",
        image=f"/reports/charts/attainment.svg?{query}",
        alt="Bar chart of attainment per severity and metric; the table below holds the same figures.",
        csv=f"/reports/attainment.csv?{query}",
        headings=("Severity", "Metric", "Attainment", "Met", "Breached", "Excused", "Cancelled", "Running"),
        rows=tuple(rows),
        exclusions=exclusions,
    )


def _excused_lines(excused: tuple[ExcusedBreach, ...]) -> tuple[str, ...]:
    """Each excused breach with its reason, up to `MAX_EXCUSED_LINES` per reason; the rest of a reason in one line.

    An outside incident can excuse hundreds of breaches: the page names the first of them and counts the others,
    whose tickets the Excused figures link to.
    """
    by_reason: dict[str, list[ExcusedBreach]] = {}
    for breach in excused:
        by_reason.setdefault(breach.reason, []).append(breach)
    lines: list[str] = []
    for reason, breaches in by_reason.items():
        lines.extend(
            f"Excused: ticket {e.ticket_id}'s {e.metric} (due {e.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC): {reason}."
            for e in breaches[:MAX_EXCUSED_LINES]
        )
        if len(breaches) > MAX_EXCUSED_LINES:
            more = len(breaches) - MAX_EXCUSED_LINES
            lines.append(
                f"Excused: {more} more {'breach' if more == 1 else 'breaches'} for the same reason ({reason}); "
                "the Excused figures link to all their tickets."
            )
    return tuple(lines)


def _breaches_view(timeline: BreachTimeline, query: str) -> ChartView:
    rows = [
        (Link(bucket.start.date().isoformat(), None), *_breach_links(timeline, bucket)) for bucket in timeline.buckets
    ]
    return ChartView(
        key="breaches",
        title="Breaches over time",
        image=f"/reports/charts/breaches.svg?{query}",
        alt=f"Stacked bar chart of breaches per {timeline.bucket}; the table below holds the same counts.",
        csv=f"/reports/breaches.csv?{query}",
        headings=(timeline.bucket.capitalize() + " from", "Breached", "Excused"),
        rows=tuple(rows),
        exclusions=(
            "A breach counts on the day its due instant passed (or, for a breach under an earlier severity, the "
            "day that one passed), in UTC.",
            "Breaches excused by an outside incident are counted apart, as excused.",
        ),
    )


def _times_view(report: TimesReport, query: str) -> ChartView:
    rows = tuple(
        (
            Link(_severity(row.group), None),
            Link(row.metric, None),
            _stopped_link(row),
            Link(display_value(_SECONDS, row.p50_seconds), None),
            Link(display_value(_SECONDS, row.p90_seconds), None),
            Link(display_value(_SECONDS, row.max_seconds), None),
            Link(display_value(_SECONDS, row.target_seconds), None),
        )
        for row in report.rows
    )
    return ChartView(
        key="times",
        title="Times: p50 and p90 against the target",
        image=f"/reports/charts/times.svg?{query}",
        alt="Bar chart of p50, p90 and target hours per severity and metric; the table below holds the same figures.",
        csv=f"/reports/times.csv?{query}",
        headings=("Severity", "Metric", "Stopped", "p50", "p90", "Max", "Target"),
        rows=rows,
        exclusions=report.exclusions,
    )


_PERCENT = Column("attainment", "Attainment", "percent")
_SECONDS = Column("seconds", "Seconds", "seconds")


# Routes


@router.get("/reports")
def dashboard(request: Request, visitor: Staff) -> HTMLResponse:
    period = _period_of(request)
    actor = visitor.actor
    query = urlencode(_period_query(period))
    charts = [
        _attainment_view(_attainment(request, actor, period), query),
        _breaches_view(_breaches(request, actor, period), query),
        _times_view(_times(request, actor, period), query),
    ]
    forecast = _forecast(request, actor)
    forecast_rows = [
        ForecastView(
            Link(f"#{row.ticket_id}", f"/tickets/{row.ticket_id}"), row.metric, row.severity, row.due, row.reason
        )
        for row in forecast.rows
    ]
    return render(
        request,
        "reports/dashboard.html",
        {
            "title": "Reports",
            "period": period,
            "shown": _period_query(period),
            "charts": charts,
            "forecast": forecast,
            "forecast_rows": forecast_rows,
        },
    )


@router.get("/reports/charts/{chart}.svg")
def chart_image(request: Request, visitor: Staff, chart: ChartName) -> Response:
    period, actor = _period_of(request), visitor.actor
    drawn = {
        "attainment": lambda: attainment_chart(_attainment(request, actor, period)),
        "breaches": lambda: breaches_chart(_breaches(request, actor, period)),
        "times": lambda: times_chart(_times(request, actor, period)),
    }[chart]()
    return Response(drawn, media_type=SVG_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/reports/{chart}.csv")
def chart_csv(request: Request, visitor: Staff, chart: ChartName) -> Response:
    period, actor = _period_of(request), visitor.actor
    table: Table = {
        "attainment": lambda: attainment_table(
            _attainment(request, actor, period, tickets_per_cell=report_services.TICKETS_PER_CELL)
        ),
        "breaches": lambda: breaches_table(_breaches(request, actor, period)),
        "times": lambda: times_table(_times(request, actor, period)),
    }[chart]()
    name = f"{chart}-{_period_query(period)['from']}-to-{_period_query(period)['to']}.csv"
    return Response(
        table.csv(),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/reports/tickets")
def drill_down(request: Request, visitor: Staff) -> HTMLResponse:
    """The tickets behind a figure, each linking to its page: by `ids`, or by an attainment report's cell
    (`metric`, `outcome`, `severity`, `from` and `to`), the first `MAX_DRILL_TICKETS` by ticket number."""
    params = request.query_params
    now = now_of(request)
    more = False
    with reading(sessions_of(request)) as session:
        if "ids" in params or "metric" not in params:
            ids = _ids(params.get("ids", ""))
            about = params.get("about", "")[:200]
        else:
            ids, more, about = _cell_tickets(request, visitor.actor, session)
        tickets = []
        for ticket_id in ids:
            try:
                tickets.append(ticket_view(session, visitor.actor, ticket_id, now))
            except NotFoundError:
                continue
    context = {"title": "Tickets behind a figure", "about": about, "tickets": tickets, "more": more}
    return render(request, "reports/tickets.html", {**context, "most": MAX_DRILL_TICKETS})


def _cell_tickets(request: Request, actor: Actor, session: Session) -> tuple[list[int], bool, str]:
    """The first tickets of the cell the query names, whether there are more, and the cell in words."""
    params = request.query_params
    period = _period_of(request)
    metric = params.get("metric", "").strip()
    outcome = params.get("outcome", "").strip()
    severity = params.get("severity", "").strip()
    policies = all_policies(session)
    metrics = sorted({metric_id for policy in policies for metric_id in policy.metric_ids})
    if metric not in metrics:
        raise InvalidFieldError("metric", f"{metric!r} is not a metric (known: {', '.join(metrics)})")
    if outcome not in DRILL_OUTCOMES:
        raise InvalidFieldError("outcome", f"{outcome!r} is not an outcome (known: {', '.join(DRILL_OUTCOMES)})")
    codes = sorted({severity.code for policy in policies for severity in policy.severities})
    if severity and severity not in codes:
        raise InvalidFieldError("severity", f"{severity!r} is not a severity (known: {', '.join(codes)})")
    outcomes = JUDGED_OUTCOMES if outcome == JUDGED else (Outcome(outcome),)
    found: set[int] = set()
    for each in outcomes:
        found.update(
            report_services.tickets_behind(
                session,
                actor,
                period,
                metric=metric,
                group=(("severity", severity or None),),
                outcome=each,
                now=now_of(request),
                limit=MAX_DRILL_TICKETS + 1,  # one more than shown: are there more?
            )
        )
    ids = sorted(found)
    said = "judged (met, breached or excused)" if outcome == JUDGED else outcome.replace("_", " ")
    about = ", ".join((metric.replace("_", " ").capitalize(), severity or "no severity", said, _days(period)))
    return ids[:MAX_DRILL_TICKETS], len(ids) > MAX_DRILL_TICKETS, about


def _days(period: Period) -> str:
    last = period.end - timedelta(days=1)
    first = f"{period.start.day} {period.start:%b}" + (
        "" if period.start.year == last.year else f" {period.start.year}"
    )
    return f"{first} - {last.day} {last:%b %Y}"


def _ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or len(part) > 18:
            raise InvalidFieldError("ids", f"{part!r} is not a ticket number")
        if int(part) not in ids:
            ids.append(int(part))
    if not ids:
        raise InvalidFieldError("ids", "name at least one ticket")
    if len(ids) > MAX_DRILL_TICKETS:
        raise InvalidFieldError("ids", f"name at most {MAX_DRILL_TICKETS} tickets")
    return ids


@router.get("/reports/whatif")
def whatif_page(request: Request, visitor: Staff) -> HTMLResponse:
    """What if the period's tickets had run under another policy version, or with some fields changed."""
    period = _period_of(request)
    policy = request.query_params.get("policy", "").strip()
    overrides = _overrides(request.query_params.get("overrides", ""))
    form = {**_period_query(period), "policy": policy, "overrides": "\n".join(overrides), "draft": ""}
    report: WhatIfReport | None = None
    if policy:
        with reading(sessions_of(request)) as session:
            report = whatif_report(
                session,
                visitor.actor,
                period,
                Candidate(version=policy, overrides=overrides),
                policy_id=policy.split("@")[0],
                by=("severity",),
                now=now_of(request),
            )
    return _whatif_rendered(request, form, report, [])


@router.post("/reports/whatif", response_model=None)
async def whatif_form(request: Request, visitor: Staff, form: CheckedForm) -> Response:
    """The what-if form: a policy version is answered by the page's own address (a link to keep); a draft policy
    (its file or pasted YAML), checked as an upload is and never stored, is compared at once, and a draft with
    problems lists each against its line."""
    source = await uploaded_policy_text(form)
    days = {"from": field(form, "from"), "to": field(form, "to")}
    policy = field(form, "policy").strip()
    overrides = _overrides(field(form, "overrides"))
    if source.strip():
        if policy:
            raise InvalidFieldError("policy", "give a policy or a draft, not both")
        return await run_in_threadpool(_whatif_of_draft, request, visitor.actor, days, source, overrides)
    if not policy:
        raise InvalidFieldError("policy", "choose a policy, or a draft's file or YAML")
    period = _period_from(days, now_of(request))
    query = {**_period_query(period), "policy": policy, "overrides": "\n".join(overrides)}
    return redirect("/reports/whatif?" + urlencode({name: value for name, value in query.items() if value}))


def _whatif_of_draft(
    request: Request, actor: Actor, days: dict[str, str], source: str, overrides: tuple[str, ...]
) -> HTMLResponse:
    period = _period_from(days, now_of(request))
    form = {**_period_query(period), "policy": "", "overrides": "\n".join(overrides), "draft": source}
    try:
        with reading(sessions_of(request)) as session:
            report = whatif_report(
                session,
                actor,
                period,
                Candidate(draft=source, overrides=overrides),
                by=("severity",),
                now=now_of(request),
            )
    except PolicyError as error:
        return _whatif_rendered(request, form, None, list(error.problems))
    return _whatif_rendered(request, form, report, [])


def _overrides(text: str) -> tuple[str, ...]:
    overrides = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(overrides) > MAX_OVERRIDES:
        raise InvalidFieldError("overrides", f"give at most {MAX_OVERRIDES} changes")
    return overrides


def _whatif_rendered(
    request: Request, form: dict[str, str], report: WhatIfReport | None, problems: list[Problem]
) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        choices = _policy_choices(session)
    context: dict[str, Any] = {
        "title": "What if",
        "form": form,
        "report": report,
        "choices": choices,
        "problems": problems,
    }
    if report is not None:
        rows, changes = whatif_table(report), whatif_changes_table(report)
        context["rows"] = _displayed(rows)
        context["changes"] = _displayed(changes)
        context["change_links"] = [
            Link(f"#{change.ticket_id}", f"/tickets/{change.ticket_id}") for change in report.changes
        ]
    return render(request, "reports/whatif.html", context, status_code=422 if problems else 200)


def _policy_choices(session: Session) -> list[PolicyChoice]:
    """What the policy field offers: each policy's current version by its id, then its other stored versions."""
    choices: list[PolicyChoice] = []
    for policy in all_policies(session):
        choices.append(PolicyChoice(policy.id, f"{policy.name}, current version ({policy.version})"))
        choices.extend(
            PolicyChoice(f"{policy.id}@{info.version}", f"{policy.name}, version {info.version}")
            for info in versions_of(session, policy.id)
            if info.version != policy.version
        )
    return choices


def _displayed(table: Table) -> dict[str, Any]:
    return {
        "headings": [column.title for column in table.columns],
        "rows": [
            [display_value(column, value) for column, value in zip(table.columns, row, strict=True)]
            for row in table.rows
        ],
    }
