"""SLA clocks: replay a ticket's events against its policy, explain deadlines, order the queue."""

from sladesk.sla.events import Event, ReplayInput, TicketFacts, parse_replay_input
from sladesk.sla.replay import MetricReport, MetricState, ReplayReport, replay

__all__ = [
    "Event",
    "MetricReport",
    "MetricState",
    "ReplayInput",
    "ReplayReport",
    "TicketFacts",
    "parse_replay_input",
    "replay",
]
