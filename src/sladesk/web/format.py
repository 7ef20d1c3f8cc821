"""Instants, durations and clock states as the pages write them: in the reader's zone and in words."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sladesk.sla import MetricState

# Each state in words, so that colour is never the only signal (an icon-like mark goes with it in the CSS).
_STATE_LABELS = {
    MetricState.RUNNING: "Running",
    MetricState.BREACHED: "Breached",
    MetricState.PAUSED: "Paused",
    MetricState.MET: "Met",
    MetricState.NOT_STARTED: "Not started",
    MetricState.CANCELLED: "Cancelled",
    MetricState.NONE: "No target",
}


def local_time(instant: datetime | None, zone: tzinfo | None = None) -> str:
    """`Mon 7 Dec 2026, 14:05 EST`: the instant in `zone` (UTC when none), or an em dash for no instant."""
    if instant is None:
        return "—"
    local = instant.astimezone(zone or UTC)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def iso(instant: datetime | None) -> str:
    """The instant in ISO 8601 UTC, for `<time datetime>` and the countdown script; empty for none."""
    if instant is None:
        return ""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_words(seconds: int | float | None) -> str:
    """`2 h 05 min`, `3 days 4 h`, `45 s` (of the absolute value); an em dash for none."""
    if seconds is None:
        return "—"
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h" if hours else f"{days} day{'s' if days != 1 else ''}"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def state_label(state: MetricState | str, warning: bool = False, excused: str | None = None) -> str:
    """A clock's state in words; a running clock past its warning instant reads `Warning`."""
    state = MetricState(state)
    if excused:
        return "Excused"
    if warning and state is MetricState.RUNNING:
        return "Warning"
    return _STATE_LABELS[state]
