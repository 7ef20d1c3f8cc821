"""sladesk report: SLA attainment, working times, what-if replays and breach forecasts from a desk's database.

The commands read the desk's database (the data directory's, or `--database-url`'s) and change nothing.
Whoever can open the database can read every report in it, so the commands read as an admin would.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.table import Table as RichTable

from sladesk.cli.common import DatabaseUrlOption, DataDirOption, err, migrated_engine, out

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.orm import Session

    from sladesk.reports.model import Period
    from sladesk.reports.tables import Table
    from sladesk.reports.whatif import WhatIfReport
    from sladesk.services.actors import Actor
    from sladesk.services.whatif import Candidate

Result = TypeVar("Result")

app = typer.Typer(
    help="SLA reports: attainment, times, what-if replays under another policy, breach forecasts.",
    no_args_is_help=True,
)

# Counted in the exclusions under the table, or too long for it; all of them are in the CSV.
_ATTAINMENT_HIDDEN = (
    "no_target",
    "not_started",
    "goal_met",
    "goal_missed",
    "met_tickets",
    "breached_tickets",
    "excused_tickets",
)
# A service's field as the option a user of this command gave it.
_OPTIONS = {
    "period": "--from/--to",
    "by": "--by",
    "metrics": "--metric",
    "overrides": "--set",
    "candidate": "CANDIDATE",
}

FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="DATE|INSTANT",
        help="Start of the period: a date (its 00:00 UTC) or an instant with an offset (default: the first of "
        "last month).",
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="DATE|INSTANT",
        help="End of the period: a date (included: up to the next day's 00:00 UTC) or an instant with an "
        "offset (excluded) (default: the first of this month).",
        show_default=False,
    ),
]
ByOption = Annotated[
    str,
    typer.Option(
        "--by",
        metavar="DIMENSIONS",
        help="Group by these, comma-separated: severity, tier, organisation, team, assignee, policy_version.",
    ),
]
MetricOption = Annotated[
    list[str] | None,
    typer.Option("--metric", metavar="METRIC", help="Only this metric (first_response, resolution, ...); repeatable."),
]
CsvOption = Annotated[
    str | None,
    typer.Option("--csv", metavar="FILE", help="Write the figures as CSV to FILE (- for standard output)."),
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", metavar="INSTANT", help="Report as of this instant instead of now.", show_default=False),
]


def _invalid(option: str, message: str) -> Exception:
    from sladesk.services.errors import InvalidFieldError

    return InvalidFieldError(option, message)


def _instant(text: str, option: str, *, end: bool = False) -> datetime:
    """A date (00:00 UTC; for an end, the next day's) or an instant with an offset."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = _within_years(datetime(day.year, day.month, day.day, tzinfo=UTC), option)
        return start + timedelta(days=1) if end else start
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(
            option, f"{text!r} is neither a date like 2026-11-01 nor an instant like 2026-11-01T09:00:00-05:00"
        ) from None
    if value.utcoffset() is None:
        raise _invalid(option, f"{text!r} has no UTC offset: add one, e.g. Z or -05:00")
    return _within_years(value, option)


def _within_years(instant: datetime, option: str) -> datetime:
    try:
        year = instant.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 1970 <= year <= 9998:
        raise _invalid(option, "give an instant between the years 1970 and 9998")
    return instant


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    return _instant(text, "--now")


def _period(start: str | None, end: str | None, now: datetime) -> Period:
    """The period asked for; by default the calendar month before `now`'s, in UTC."""
    from sladesk.reports.model import Period
    from sladesk.reports.tables import previous_month

    last_month, this_month = previous_month(now)
    period = Period(
        _instant(start, "--from") if start is not None else last_month,
        _instant(end, "--to", end=True) if end is not None else this_month,
    )
    if period.start >= period.end:
        raise _invalid("--to", f"the period must end after it starts ({_utc(period.start)} to {_utc(period.end)})")
    return period


def _dimensions(text: str) -> tuple[str, ...]:
    from sladesk.reports.model import DIMENSIONS

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in DIMENSIONS:
            raise _invalid("--by", f"no dimension {name!r} (known: {', '.join(DIMENSIONS)})")
    if len(set(names)) != len(names):
        raise _invalid("--by", "a dimension is given twice")
    return names


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(database_url: str | None, data_dir: Path | None, report: Callable[[Session, Actor], Result]) -> Result:
    """`report` run in one reading unit of work on the desk's database, as its operator; a refused field is
    named by this command's option."""
    from sladesk.services.actors import Actor, Role
    from sladesk.services.errors import InvalidFieldError
    from sladesk.store import make_sessions, reading

    operator = Actor(0, Role.ADMIN, None)
    engine = migrated_engine(database_url, data_dir)
    try:
        with reading(make_sessions(engine)) as session:
            return report(session, operator)
    except InvalidFieldError as error:
        option = _OPTIONS.get(error.field)
        if option is None:
            raise
        message = str(error).removeprefix(f"{error.field}: ")
        raise _invalid(option, message) from None
    finally:
        engine.dispose()


def _write_csv(table: Table, target: str) -> None:
    text = table.csv()
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target).expanduser()
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        raise _invalid("--csv", f"cannot write {path}: {error.strerror}") from None
    err.print(f"wrote {len(table.rows)} row{'s' if len(table.rows) != 1 else ''} to {path}", markup=False)


def _print_table(title: str, table: Table, *, skip: Sequence[str] = ()) -> None:
    from sladesk.reports.tables import display_value

    shown = [index for index, column in enumerate(table.columns) if column.name not in skip]
    rich = RichTable(title=title, title_justify="left")
    cells = [[display_value(table.columns[index], row[index]) for index in shown] for row in table.rows]
    for position, index in enumerate(shown):
        column = table.columns[index]
        if column.kind == "text":  # names are never cut short; the figures' headings wrap instead
            widest = max((len(row[position]) for row in cells), default=0)
            rich.add_column(column.title, justify="left", no_wrap=True, min_width=min(widest, 40))
        else:
            rich.add_column(column.title, justify="left" if column.kind == "tickets" else "right")
    for row in cells:
        rich.add_row(*row)
    out.print(rich)


def _print_notes(notes: Sequence[str]) -> None:
    for note in notes:
        out.print(f"- {note}", markup=False)


@app.command("attainment")
def attainment(
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = "severity",
    metric: MetricOption = None,
    csv: CsvOption = None,
    now: NowOption = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """SLA attainment per metric and group: met, breached, excused, cancelled and running clocks."""
    from sladesk.reports.tables import attainment_table, utc_text
    from sladesk.services.reports import attainment_report

    instant = _now(now)
    period = _period(start, end, instant)
    dimensions = _dimensions(by)
    report = _read(
        database_url,
        data_dir,
        lambda session, actor: attainment_report(
            session, actor, period, by=dimensions, metrics=metric or None, now=instant
        ),
    )
    table = attainment_table(report)
    if csv is not None:
        _write_csv(table, csv)
        if csv == "-":
            return
    title = f"Attainment from {_utc(period.start)} to {_utc(period.end)}"
    _print_table(title, table, skip=_ATTAINMENT_HIDDEN)
    if not report.rows:
        out.print("No clocks stopped or fell due in the period.", markup=False)
    if report.excused:
        out.print("Excused breaches (counted as breaches above, as met under “Excused as met”):", markup=False)
        for breach in report.excused:
            out.print(
                f"- ticket {breach.ticket_id}, {breach.metric}, due {utc_text(breach.at)}: {breach.reason}",
                markup=False,
            )
    out.print("What the figures leave out:", markup=False)
    _print_notes(report.exclusions)


@app.command("times")
def times(
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = "severity",
    metric: MetricOption = None,
    csv: CsvOption = None,
    now: NowOption = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Working time to the stop per metric and group: p50, p90 and max beside the target."""
    from sladesk.reports.tables import times_table
    from sladesk.services.reports import times_report

    instant = _now(now)
    period = _period(start, end, instant)
    dimensions = _dimensions(by)
    report = _read(
        database_url,
        data_dir,
        lambda session, actor: times_report(session, actor, period, by=dimensions, metrics=metric or None, now=instant),
    )
    table = times_table(report)
    if csv is not None:
        _write_csv(table, csv)
        if csv == "-":
            return
    _print_table(f"Working times from {_utc(period.start)} to {_utc(period.end)}", table, skip=("tickets",))
    if not report.rows:
        out.print("No clocks stopped in the period.", markup=False)
    out.print("What the figures leave out:", markup=False)
    _print_notes(report.exclusions)


@app.command("whatif")
def whatif(
    candidate: Annotated[
        str | None,
        typer.Argument(
            metavar="[CANDIDATE]",
            help="The policy to replay under: a version (alleo, alleo@2) or a draft policy's YAML file "
            "(default: --policy's current version).",
            show_default=False,
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            metavar="ID",
            help="Replay the tickets opened under this policy (default: the candidate's id).",
            show_default=False,
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="Change one field of the candidate, e.g. severities.Sev1.targets.first_response.due=2h; repeatable.",
        ),
    ] = None,
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = "severity",
    csv: CsvOption = None,
    changes_csv: Annotated[
        str | None,
        typer.Option(
            "--changes-csv", metavar="FILE", help="Write the changed outcomes as CSV to FILE (- for standard output)."
        ),
    ] = None,
    now: NowOption = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The period's tickets replayed under another policy: attainment both ways and every changed outcome."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from sladesk.reports.tables import whatif_changes_table, whatif_table
    from sladesk.services.whatif import whatif_report

    instant = _now(now)
    period = _period(start, end, instant)
    dimensions = _dimensions(by)
    chosen = _candidate(candidate, policy, tuple(overrides or ()))
    bar = Progress(TextColumn("replaying tickets"), BarColumn(), MofNCompleteColumn(), console=err, transient=True)
    task = bar.add_task("replay", total=None)

    def progress(done: int, total: int) -> None:
        if done == 0:  # shown once the candidate is accepted and the tickets are counted
            bar.start()
        bar.update(task, completed=done, total=total)

    def run(session: Session, actor: Actor) -> WhatIfReport:
        try:
            return whatif_report(
                session, actor, period, chosen, policy_id=policy, by=dimensions, now=instant, progress=progress
            )
        finally:
            if bar.live.is_started:
                bar.stop()

    report = _read(database_url, data_dir, run)
    table = whatif_table(report)
    changes = whatif_changes_table(report)
    if changes_csv is not None:
        _write_csv(changes, changes_csv)
    if csv is not None:
        _write_csv(table, csv)
    if "-" in (csv, changes_csv):
        return
    title = f"What if under {report.candidate}, from {_utc(period.start)} to {_utc(period.end)}"
    _print_table(title, table)
    out.print(f"{report.compared} ticket{'s' if report.compared != 1 else ''} compared.", markup=False)
    if report.changes:
        _print_table("Changed outcomes", changes)
    else:
        out.print("No outcome changes under the candidate.", markup=False)
    for refused in report.not_comparable:
        out.print(f"- ticket {refused.ticket_id} not compared: {refused.reason}", markup=False)
    out.print("What the figures leave out:", markup=False)
    _print_notes(report.exclusions)


def _candidate(given: str | None, policy: str | None, overrides: tuple[str, ...]) -> Candidate:
    """The candidate: a draft read from a file, else a version, else `policy`'s current version."""
    from sladesk.services.whatif import Candidate

    if given is None:
        if policy is None:
            raise _invalid("CANDIDATE", "give the policy to replay under (alleo@2, a draft's file) or --policy")
        return Candidate(version=policy, overrides=overrides)
    path = Path(given).expanduser()
    if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
        try:
            return Candidate(draft=path.read_text(encoding="utf-8"), overrides=overrides)
        except (OSError, UnicodeDecodeError) as error:
            raise _invalid("CANDIDATE", f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    return Candidate(version=given, overrides=overrides)


@app.command("forecast")
def forecast(
    csv: CsvOption = None,
    now: NowOption = None,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The running clocks of open tickets that will breach at the current pace, and why."""
    from sladesk.reports.tables import forecast_table
    from sladesk.services.forecast import forecast_report

    instant = _now(now)
    report = _read(database_url, data_dir, lambda session, actor: forecast_report(session, actor, now=instant))
    table = forecast_table(report)
    if csv is not None:
        _write_csv(table, csv)
        if csv == "-":
            return
    if report.rows:
        _print_table(f"Breach forecast at {_utc(report.now)}", table)
    else:
        out.print(f"Breach forecast at {_utc(report.now)}: no running clock is forecast to breach.", markup=False)
    out.print(
        f"{report.running} running clock{'s' if report.running != 1 else ''} judged; "
        f"{report.paused} paused clock{'s' if report.paused != 1 else ''} left out (they cannot breach while paused).",
        markup=False,
    )
