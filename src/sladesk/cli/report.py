"""sladesk report: SLA attainment, working times, what-if replays and breach forecasts from a desk's database."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="SLA reports: attainment, times, what-if replays under another policy, breach forecasts.",
    no_args_is_help=True,
)
