"""The `sladesk` command: policies and SLA clocks from the terminal, and the desk's service.

One module per command group: `policy`, `sla`, `db`, `serve` (the service), `worker`, `mail`, `oncall`
(who is on call, and a schedule as iCalendar), `report` (SLA reports) and `desk` (admin, demo);
`common` holds what they share.
"""

from __future__ import annotations

import typer

from sladesk.cli import db, desk, imports, mail, oncall, policy, report, serve, sla, worker
from sladesk.cli.common import VersionOption, run

app = typer.Typer(help="sladesk: an SLA-driven support desk.", no_args_is_help=True, add_completion=False)


@app.callback()
def _sladesk(version: VersionOption = False) -> None:
    """sladesk: an SLA-driven support desk."""


app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("admin")(desk.admin)
app.command("demo")(desk.demo)
app.add_typer(policy.app, name="policy")
app.add_typer(sla.app, name="sla")
app.add_typer(db.app, name="db")
app.add_typer(mail.app, name="mail")
app.add_typer(oncall.app, name="oncall")
app.add_typer(report.app, name="report")
app.add_typer(imports.app, name="import")


def main() -> None:
    """Entry point: every user-facing error is one line on stderr and exit code 2."""
    run(app)


__all__ = ["app", "main"]
