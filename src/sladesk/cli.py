"""The `sladesk` command: policies and SLA clocks from the terminal."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sladesk.errors import InputError, PolicyError, SladeskError
from sladesk.policy import BUILTIN_IDS, Policy, load_policy
from sladesk.sla import Event, ReplayReport, TicketFacts, parse_replay_input, replay
from sladesk.sla.events import parse_instant
from sladesk.sla.explain import explain
from sladesk.sla.scenarios import run_policy_tests

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="sladesk: an SLA-driven support desk.", no_args_is_help=True, add_completion=False)
policy_app = typer.Typer(help="Read, check and test SLA policies.", no_args_is_help=True)
sla_app = typer.Typer(help="Compute SLA clocks: replay events, due instants, explanations.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(sla_app, name="sla")

# Piped output (CI logs, files) gets a fixed width wide enough for the policy tables.
_WIDTH = None if sys.stdout.isatty() else 120
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


def main() -> None:
    """Entry point: every user-facing error is one line on stderr and exit code 2."""
    try:
        app()
    except PolicyError as error:
        for problem in error.problems:
            err.print(f"error: {problem}", markup=False)
        raise SystemExit(2) from None
    except SladeskError as error:
        err.print(f"error: {error}", markup=False)
        raise SystemExit(2) from None


# policy


@policy_app.command("list")
def policy_list() -> None:
    """List the built-in policies."""
    table = Table("id", "name", "time zone", "severities", "metrics", "version")
    for policy_id in BUILTIN_IDS:
        policy = load_policy(policy_id)
        table.add_row(
            policy.id,
            policy.name,
            policy.spec.timezone,
            ", ".join(s.code for s in policy.severities),
            ", ".join(policy.metric_ids),
            str(policy.version),
        )
    out.print(table)


@policy_app.command("show")
def policy_show(
    policy_ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="A built-in id or a policy file.")],
) -> None:
    """Show a policy in readable form: calendars, severities with targets in words, statuses."""
    policy = load_policy(policy_ref)
    spec = policy.spec
    out.print(f"[bold]{policy.name}[/bold] ({policy.id}, version {policy.version}), time zone {spec.timezone}")
    if spec.description:
        out.print(spec.description, markup=False)
    if spec.source:
        out.print(f"Source: {spec.source}", markup=False)
    out.print()
    calendars = Table("calendar", "hours", title="Calendars", title_justify="left")
    for calendar_id in spec.calendars:
        calendars.add_row(calendar_id, policy.calendar(calendar_id).describe())
    out.print(calendars)
    if spec.holidays.rules:
        holidays = Table("holiday", "rule", *(str(y) for y in _show_years()), title="Holidays", title_justify="left")
        for holiday in spec.holidays.rules:
            dates = [
                ", ".join(d.strftime("%a %d %b") for d in policy.holidays.dates_by_rule(year)[holiday.id])
                for year in _show_years()
            ]
            holidays.add_row(holiday.name, holiday.on or "dates", *dates)
        out.print(holidays)
        out.print(f"Observed shift for weekend holidays: {spec.holidays.observed.value}")
    if spec.holidays.country:
        region = spec.holidays.country + (f"-{spec.holidays.subdivision}" if spec.holidays.subdivision else "")
        out.print(f"Public holidays of {region} apply too (from the holidays package).")
    severities = Table("rank", "code", "name", "pages on-call", "comms (int/ext)", *policy.metric_ids)
    severities.title, severities.title_justify = "Severities", "left"
    for severity in policy.severities:
        cells = []
        for metric_id in policy.metric_ids:
            rule = policy.clock_rule(severity, metric_id)
            if rule.due_words is None:
                cells.append(f"no target ({rule.calendar_id})")
            else:
                goal = f", goal {rule.goal_words}" if rule.goal_words else ""
                start = f", from {rule.start.replace('_', ' ')}" if rule.start != "opened" else ""
                cells.append(f"{rule.due_words}{goal} on {rule.calendar_id}{start}")
        severities.add_row(
            str(severity.rank),
            severity.code,
            severity.name,
            "yes" if severity.pages_oncall else "no",
            f"{severity.internal_comms.value}/{severity.external_comms.value}",
            *cells,
        )
    out.print(severities)
    for severity in policy.severities:
        out.print(f"[bold]{severity.code}[/bold] {severity.name}: ", end="")
        out.print(severity.definition, markup=False)
        for example in severity.examples:
            out.print(f"  - {example}", markup=False)
    out.print()
    statuses = Table("status", "name", "kind", "moves to", title="Statuses", title_justify="left")
    for status in spec.statuses:
        statuses.add_row(status.id, status.name, status.kind.value, ", ".join(spec.transitions.get(status.id, ())))
    out.print(statuses)
    for metric_id, metric in spec.metrics.items():
        pauses = ", ".join(metric.pause_statuses) or "never"
        out.print(f"Metric {metric_id} ({metric.name}): stops at {metric.stop.replace('_', ' ')}; pauses: {pauses}")
    if spec.warning_fraction:
        out.print(f"Warning at {spec.warning_fraction:.0%} of each target.")
    if spec.tiers:
        out.print("Tiers, first served first: " + ", ".join(t.name for t in spec.tiers), markup=False)
    if spec.categories:
        out.print("Categories: " + ", ".join(c.name for c in spec.categories), markup=False)
    if spec.intake:
        out.print("Intake: " + "; ".join(f"{f.label}{' (required)' if f.required else ''}" for f in spec.intake))
    if spec.reopen.allowed_from:
        out.print(f"Reopen: from {', '.join(spec.reopen.allowed_from)} to {spec.reopen.to}")
    if spec.reopen.otherwise:
        out.print(f"Otherwise: {spec.reopen.otherwise}", markup=False)
    if spec.auto_close:
        rule_text = spec.auto_close
        out.print(
            f"Auto-close: after {rule_text.after} in {', '.join(rule_text.from_statuses)} -> {rule_text.to}"
            + (f" ({rule_text.condition})" if rule_text.condition else ""),
            markup=False,
        )
    if spec.assumptions:
        out.print("\n[bold]Assumptions[/bold]")
        for assumption in spec.assumptions:
            out.print(f"- {assumption.topic}: {assumption.text}", markup=False)


def _show_years() -> tuple[int, int]:
    year = datetime.now(UTC).year
    return (year, year + 1)


@policy_app.command("check")
def policy_check(files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Policy YAML files.")]) -> None:
    """Check policy files; every problem is listed with its file, line and field (exit 1 if any)."""
    failed = False
    for file in files:
        try:
            policy = load_policy(str(file))
        except PolicyError as error:
            failed = True
            for problem in error.problems:
                out.print(str(problem), markup=False)
            continue
        out.print(f"{file}: ok ({policy.id}, {len(policy.severities)} severities)", markup=False)
    if failed:
        raise typer.Exit(1)


@policy_app.command("test")
def policy_test(
    references: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID|FILE]...", help="Built-in ids, policy files or .tests.yaml files (default: all built-ins)."
        ),
    ] = None,
) -> None:
    """Run a policy's scenario tests and print a pass/fail table (exit 1 if any fail)."""
    failed = 0
    total = 0
    for reference in references or list(BUILTIN_IDS):
        policy, results = run_policy_tests(reference)
        table = Table("result", "scenario", "details", title=f"{policy.id}: {reference}", title_justify="left")
        for result in results:
            total += 1
            if result.passed:
                table.add_row("[green]PASS[/green]", result.name, "")
                continue
            failed += 1
            if result.error:
                details = f"error: {result.error}"
            else:
                details = "; ".join(
                    f"{m.metric}.{m.field}: expected {m.expected}, got {m.actual}" for m in result.mismatches
                )
            table.add_row("[red]FAIL[/red]", f"{result.name} ({result.file}:{result.line})", details)
        out.print(table)
    out.print(f"{total - failed} passed, {failed} failed")
    if failed or total == 0:
        raise typer.Exit(1)


# sla


@sla_app.command("replay")
def sla_replay(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="Replay input JSON (DESIGN.md), - for stdin.")],
    now: Annotated[
        str | None, typer.Option(help="Replay as of this ISO instant (default: the input's, else now).")
    ] = None,
) -> None:
    """Replay a ticket's events: JSON in, the state of every metric out."""
    report = _replay_file(source, now)
    print(json.dumps(report.to_json(), indent=2))


@sla_app.command("due")
def sla_due(
    policy: Annotated[str, typer.Option(help="Built-in policy id or policy file.")],
    severity: Annotated[str, typer.Option(help="Severity rank (1 is most severe) or code.")],
    opened: Annotated[str, typer.Option(help="When the ticket was opened (ISO 8601 with offset).")],
    metric: Annotated[str | None, typer.Option(help="One metric (default: all of the policy's).")] = None,
    tier: Annotated[str | None, typer.Option(help="Customer tier, where the policy ranks tiers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the replay JSON instead of lines.")] = False,
) -> None:
    """When each metric of a ticket opened at --opened is due (and its goal, if any)."""
    report = _replay_opened(policy, severity, opened, tier, metric)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    for metric_id, metric_report in report.metrics.items():
        if metric and metric_id != metric:
            continue
        if metric_report.due is None:
            out.print(f"{metric_id}: no target for {report.severity.code}")
            continue
        line = f"{metric_id}: due {metric_report.due.astimezone(report.policy.tz).isoformat()}"
        if metric_report.goal is not None:
            line += f" (goal {metric_report.goal.astimezone(report.policy.tz).isoformat()})"
        out.print(line)


@sla_app.command("explain")
def sla_explain(
    source: Annotated[
        str | None, typer.Argument(metavar="[FILE|-]", help="Replay input JSON instead of options.")
    ] = None,
    policy: Annotated[str | None, typer.Option(help="Built-in policy id or policy file.")] = None,
    severity: Annotated[str | None, typer.Option(help="Severity rank (1 is most severe) or code.")] = None,
    opened: Annotated[str | None, typer.Option(help="When the ticket was opened (ISO 8601 with offset).")] = None,
    metric: Annotated[str | None, typer.Option(help="One metric (default: all of the policy's).")] = None,
    tier: Annotated[str | None, typer.Option(help="Customer tier, where the policy ranks tiers.")] = None,
    now: Annotated[str | None, typer.Option(help="Explain as of this ISO instant.")] = None,
) -> None:
    """Say in words how each deadline is reached: ranges counted, days skipped and why, pauses."""
    if source is not None:
        report = _replay_file(source, now)
    else:
        missing = [
            name for name, value in (("--policy", policy), ("--severity", severity), ("--opened", opened)) if not value
        ]
        if missing:
            raise InputError(f"give a replay FILE or {', '.join(missing)}")
        assert policy is not None and severity is not None and opened is not None
        report = _replay_opened(policy, severity, opened, tier, metric, now)
    if metric is not None and metric not in report.metrics:
        raise InputError(f"policy {report.policy.id!r} has no metric {metric!r} (known: {', '.join(report.metrics)})")
    out.print(explain(report, metric), markup=False)


def _replay_file(source: str, now_text: str | None) -> ReplayReport:
    raw = _read_json(source)
    data = parse_replay_input(raw)
    now = parse_instant(now_text, "--now") if now_text else data.now or datetime.now(UTC)
    return replay(load_policy(data.policy), data.ticket, data.events, now)


def _replay_opened(
    policy_ref: str,
    severity: str,
    opened_text: str,
    tier: str | None,
    metric: str | None,
    now_text: str | None = None,
) -> ReplayReport:
    policy: Policy = load_policy(policy_ref)
    opened = parse_instant(opened_text, "--opened")
    now = parse_instant(now_text, "--now") if now_text else opened
    if metric is not None and metric not in policy.metric_ids:
        raise InputError(f"policy {policy.id!r} has no metric {metric!r} (known: {', '.join(policy.metric_ids)})")
    facts = TicketFacts(severity=int(severity) if severity.isdigit() else severity, tier=tier)
    return replay(policy, facts, [Event(opened, "opened")], now)


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None


# db

db_app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: $SLADESK_DATABASE_URL, else sladesk.db in the data directory).",
        show_default=False,
    ),
]


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrlOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations the database lacks and print each one applied."""
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, safe_url, upgrade
    from sladesk.store.migrate import current_revision, revision_doc

    url = database_url or configured_url()
    engine = make_engine(url)
    try:
        applied = upgrade(engine, revision)
        now_at = current_revision(engine)
    finally:
        engine.dispose()
    out.print(f"database: {safe_url(url)}", markup=False)
    for applied_revision in applied:
        out.print(f"applied {applied_revision}: {revision_doc(applied_revision)}", markup=False)
    if not applied:
        out.print("nothing to apply")
    out.print(f"at revision {now_at}", markup=False)


@db_app.command("current")
def db_current(database_url: DatabaseUrlOption = None) -> None:
    """Print the revision the database is at, and whether it is the newest."""
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine
    from sladesk.store.migrate import current_revision, head_revision

    engine = make_engine(database_url or configured_url())
    try:
        now_at = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if now_at is None:
        out.print("no revision: the database is not migrated (run sladesk db upgrade)")
    elif now_at == head:
        out.print(f"{now_at} (head)", markup=False)
    else:
        out.print(f"{now_at} (head is {head}; run sladesk db upgrade)", markup=False)


# serve and demo


class ServeError(SladeskError):
    """The service cannot listen where it was asked to: the address is in use or not available."""


HostOption = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the embedded database and the attachments go (default: $SLADESK_DATA_DIR, "
        "else the user data directory).",
        show_default=False,
    ),
]


@app.command("serve")
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Apply any missing migrations, then run the API until interrupted (Ctrl+C).

    The database is --database-url, else $SLADESK_DATABASE_URL, else SQLite in the data directory;
    attachments are kept in the data directory.
    """
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, safe_url, upgrade

    _check_port(host, port)
    directory = _data_directory(data_dir)
    url = database_url or (configured_url() if data_dir is None else _sqlite_url(directory))
    engine = make_engine(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    out.print(f"database: {safe_url(url)}", markup=False)
    _serve(engine, host, port, directory / "attachments")


def _data_directory(given: Path | None) -> Path:
    """The data directory asked for, else the configured one; created if missing."""
    from sladesk.errors import StoreError
    from sladesk.store import data_dir as configured_data_dir

    if given is None:
        return configured_data_dir()
    directory = given.expanduser().resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the data directory {directory}: {error.strerror}") from None
    return directory


def _sqlite_url(directory: Path) -> str:
    from sqlalchemy.engine import URL

    from sladesk.store.engine import SQLITE_FILENAME

    return URL.create("sqlite", database=str(directory / SQLITE_FILENAME)).render_as_string()


@app.command("admin")
def admin(
    email: Annotated[str, typer.Argument(help="The admin's email address.")],
    name: Annotated[str, typer.Option(help="The admin's name (for a new admin).")] = "Admin",
    token_name: Annotated[str, typer.Option("--token-name", help="What the new API token is for.")] = "cli",
    database_url: DatabaseUrlOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an admin (or find the one with this email) and print a new API token for it.

    This is how an operator gets into a new desk: everything else (organisations, users, policies)
    is done through the API with that token.
    """
    from sladesk.services import issue_token
    from sladesk.services.directory import bootstrap_admin
    from sladesk.store import database_url as configured_url
    from sladesk.store import make_engine, make_sessions, safe_url, upgrade

    url = database_url or (configured_url() if data_dir is None else _sqlite_url(_data_directory(data_dir)))
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_sessions(engine)
        user, created = bootstrap_admin(sessions, email=email, name=name)
        token = issue_token(sessions, user.id, token_name)
    finally:
        engine.dispose()
    what = "created" if created else "exists already"
    out.print(f"database: {safe_url(url)}", markup=False)
    out.print(f"admin {user.email} (user {user.id}) {what}; a new API token, shown this once:", markup=False)
    print(token)


@app.command("demo")
def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    data_dir: DataDirOption = None,
    then_serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the service after setting it up.")
    ] = True,
) -> None:
    """Set up an embedded desk with demo data for the five built-in policies, print logins, and serve it."""
    import shlex

    from sladesk.demo import seed_demo
    from sladesk.store import make_engine, make_sessions, upgrade
    from sladesk.store.engine import SQLITE_FILENAME

    if then_serve:
        _check_port(host, port)  # before any work, so a busy port costs nothing
    directory = _data_directory(data_dir)
    database = directory / SQLITE_FILENAME
    url = _sqlite_url(directory)
    engine = make_engine(url)
    try:
        upgrade(engine)
        logins = seed_demo(make_sessions(engine), datetime.now(UTC))
    except BaseException:
        engine.dispose()
        raise
    if logins.created:
        out.print(
            f"Demo data created in {database}: {logins.organisations} organisations (one per built-in policy), "
            f"{len(logins.logins)} users, {logins.tickets} tickets.",
            markup=False,
        )
    else:
        out.print(
            f"The demo data exists already in {database} ({logins.organisations} organisations, "
            f"{logins.tickets} tickets); new API tokens were issued.",
            markup=False,
        )
    out.print("Logins:")
    table = Table("role", "email", "password")
    table.add_column("token", no_wrap=True, overflow="fold")
    table.add_column("organisation")
    for login in logins.logins:
        organisation = f"{login.organisation} ({login.policy_id})" if login.organisation else "every organisation"
        table.add_row(login.role.value, login.email, login.password, login.token, organisation)
    # Piped output is wide enough to keep each token whole on its line, ready to copy.
    Console(highlight=False, width=None if out.is_terminal else 200).print(table)
    customer = logins.customer("alleo")
    base = _base_url(host, port)
    out.print(f"Try it as {customer.name} of {customer.organisation}, who sees only that organisation's tickets:")
    out.print(f'  curl -H "Authorization: Bearer {customer.token}" {base}/api/v1/tickets', markup=False)
    if not then_serve:
        engine.dispose()
        out.print(f"Serve it with: sladesk serve --data-dir {shlex.quote(str(directory))}", markup=False)
        return
    _serve(engine, host, port, directory / "attachments")


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before any work, when nothing could listen at host:port."""
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            raise ServeError(
                f"cannot listen on {_base_url(host, port)}: {error.strerror} (choose another one with --port)"
            ) from None


def _serve(engine: Engine, host: str, port: int, attachments_dir: Path | None = None) -> None:
    """Run the API on `engine` at host:port until interrupted; the engine is disposed of afterwards."""
    import uvicorn

    from sladesk.api import create_app
    from sladesk.store import make_sessions

    base = _base_url(host, port)
    out.print(f"Serving at {base} (API docs at {base}/api/docs); Ctrl+C stops it.", markup=False)
    try:
        uvicorn.run(
            create_app(make_sessions(engine), attachments_dir=attachments_dir), host=host, port=port, log_level="info"
        )
    finally:
        engine.dispose()
