"""The goal table the benchmarks end with: each goal, what was measured, and whether it is met."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

# (goal, measured, met); met is None when the run did not measure it
Goal = tuple[str, str, bool | None]


def print_goals(console: Console, goals: Sequence[Goal]) -> None:
    table = Table(title="Goals", title_justify="left")
    table.add_column("goal")
    table.add_column("measured", justify="right")
    table.add_column("met")
    for goal, measured, met in goals:
        verdict = "[yellow]not measured[/yellow]" if met is None else "[green]yes[/green]" if met else "[red]no[/red]"
        table.add_row(goal, measured, verdict)
    console.print(table)
