"""SLA reports: attainment, working times, what-if replays and breach forecasts, pure over clock outcomes."""

from sladesk.reports.model import (
    DIMENSIONS,
    AttainmentReport,
    AttainmentRow,
    ClockOutcome,
    Dimension,
    Outcome,
    Period,
    TimesReport,
    TimesRow,
)

__all__ = [
    "DIMENSIONS",
    "AttainmentReport",
    "AttainmentRow",
    "ClockOutcome",
    "Dimension",
    "Outcome",
    "Period",
    "TimesReport",
    "TimesRow",
]
