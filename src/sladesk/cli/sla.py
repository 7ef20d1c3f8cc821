"""sladesk sla: SLA clocks from the terminal (replay events, due instants, explanations)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from sladesk.cli.common import out
from sladesk.errors import InputError
from sladesk.policy import Policy, load_policy
from sladesk.sla import OpenedEvent, ReplayReport, TicketFacts, parse_replay_input, replay
from sladesk.sla.events import parse_instant
from sladesk.sla.explain import explain
from sladesk.sla.state import MetricState

app = typer.Typer(help="Compute SLA clocks: replay events, due instants, explanations.", no_args_is_help=True)


@app.command("replay")
def sla_replay(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="Replay input JSON (docs/clocks.md), - for stdin.")],
    now: Annotated[
        str | None,
        typer.Option(metavar="INSTANT", help="Replay as of this ISO instant (default: the input's, else now)."),
    ] = None,
) -> None:
    """Replay a ticket's events: JSON in, the state of every metric out."""
    report = _replay_file(source, now)
    print(json.dumps(report.to_json(), indent=2))


@app.command("due")
def sla_due(
    policy: Annotated[str, typer.Option(metavar="ID|FILE", help="Built-in policy id or policy file.")],
    severity: Annotated[str, typer.Option(metavar="RANK|CODE", help="Severity rank (1 is most severe) or code.")],
    opened: Annotated[str, typer.Option(metavar="INSTANT", help="When the ticket was opened (ISO 8601 with offset).")],
    metric: Annotated[str | None, typer.Option(metavar="ID", help="One metric (default: all of the policy's).")] = None,
    tier: Annotated[str | None, typer.Option(metavar="ID", help="Customer tier, where the policy ranks tiers.")] = None,
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
        rule = metric_report.rule
        if metric_report.due is None and metric_report.state is MetricState.NOT_STARTED and rule.due_words:
            start = rule.start.replace("_", " ")
            out.print(f"{metric_id}: not started (starts at the {start}; then {rule.due_words} on {rule.calendar_id})")
            continue
        if metric_report.due is None:
            out.print(f"{metric_id}: no target for {report.severity.code}")
            continue
        line = f"{metric_id}: due {metric_report.due.astimezone(report.policy.tz).isoformat()}"
        if metric_report.goal is not None:
            line += f" (goal {metric_report.goal.astimezone(report.policy.tz).isoformat()})"
        out.print(line)


@app.command("explain")
def sla_explain(
    source: Annotated[
        str | None, typer.Argument(metavar="[FILE|-]", help="Replay input JSON instead of options.")
    ] = None,
    policy: Annotated[str | None, typer.Option(metavar="ID|FILE", help="Built-in policy id or policy file.")] = None,
    severity: Annotated[
        str | None, typer.Option(metavar="RANK|CODE", help="Severity rank (1 is most severe) or code.")
    ] = None,
    opened: Annotated[
        str | None, typer.Option(metavar="INSTANT", help="When the ticket was opened (ISO 8601 with offset).")
    ] = None,
    metric: Annotated[str | None, typer.Option(metavar="ID", help="One metric (default: all of the policy's).")] = None,
    tier: Annotated[str | None, typer.Option(metavar="ID", help="Customer tier, where the policy ranks tiers.")] = None,
    now: Annotated[str | None, typer.Option(metavar="INSTANT", help="Explain as of this ISO instant.")] = None,
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
    return replay(policy, facts, [OpenedEvent(at=opened)], now)


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
