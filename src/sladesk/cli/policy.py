"""sladesk policy: read, check and test SLA policies."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sladesk.cli.common import out
from sladesk.errors import PolicyError, UnknownPolicyError
from sladesk.policy import BUILTIN_IDS, builtin_source, load_policy
from sladesk.policy.words import rules_in_words, target_lines
from sladesk.sla.scenarios import run_policy_tests, tests_file_beside

app = typer.Typer(help="Read, check and test SLA policies.", no_args_is_help=True)


@app.command("list")
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


@app.command("show")
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
    now = datetime.now(UTC)
    severities = Table("rank", "code", "name", "pages on-call", "comms (int/ext)")
    severities.title, severities.title_justify = "Severities", "left"
    for severity in policy.severities:
        severities.add_row(
            str(severity.rank),
            severity.code,
            severity.name,
            "yes" if severity.pages_oncall else "no",
            f"{severity.internal_comms.value}/{severity.external_comms.value}",
        )
    out.print(severities)
    for severity in policy.severities:
        out.print(f"[bold]{severity.code}[/bold] {severity.name}: ", end="")
        out.print(severity.definition, markup=False)
        for example in severity.examples:
            out.print(f"  - {example}", markup=False)
        for line in target_lines(policy, severity, now):
            case = f" ({line.case})" if line.case else ""
            out.print(f"  {line.metric_id}{case}: {line.words}", markup=False, soft_wrap=True)
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
    rules = rules_in_words(policy, now)
    if rules:
        out.print("\n[bold]Rules[/bold]")
        for rule in rules:
            out.print(f"- {rule}", markup=False)
    if spec.assumptions:
        out.print("\n[bold]Assumptions[/bold]")
        for assumption in spec.assumptions:
            out.print(f"- {assumption.topic}: {assumption.text}", markup=False)


@app.command("export")
def policy_export(
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="A built-in policy id.")],
) -> None:
    """Print a built-in policy's YAML exactly as shipped, to start a new policy from."""
    if policy_id not in BUILTIN_IDS:
        raise UnknownPolicyError(f"unknown built-in policy {policy_id!r} (known: {', '.join(BUILTIN_IDS)})")
    sys.stdout.write(builtin_source(policy_id))


def _show_years() -> tuple[int, int]:
    year = datetime.now(UTC).year
    return (year, year + 1)


@app.command("check")
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


@app.command("test")
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
        if not results:
            out.print(f"{reference}: no scenarios{_where_scenarios_go(reference)}", markup=False)
            continue
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
    if total:
        out.print(f"{total - failed} passed, {failed} failed")
    if failed or total == 0:
        raise typer.Exit(1)


def _where_scenarios_go(reference: str) -> str:
    if reference in BUILTIN_IDS or reference.endswith(".tests.yaml"):
        return ""
    return f" (add `tests:` to it or write them in {tests_file_beside(Path(reference))})"
