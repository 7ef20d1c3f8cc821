"""SLA clocks: replay a ticket's events against its policy, explain deadlines, order the queue."""

from sladesk.sla.events import Event, OpenedEvent, ReplayInput, TicketFacts, event_of, parse_replay_input
from sladesk.sla.replay import MetricReport, ReplayReport, replay
from sladesk.sla.state import ClockInstants, ClockReading, MetricState, read_clock

__all__ = [
    "ClockInstants",
    "ClockReading",
    "Event",
    "MetricReport",
    "MetricState",
    "OpenedEvent",
    "ReplayInput",
    "ReplayReport",
    "TicketFacts",
    "event_of",
    "parse_replay_input",
    "read_clock",
    "replay",
]
