"""The workers' Prometheus metrics: timers fired and their lag, deliveries, inbound mail.

Counters and the lag histogram count what this process did. What the database holds (timers due, outbox
depth) is read from it when `/metrics` is scraped, so any process answers for the whole desk.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

TIMERS_FIRED = Counter(
    "sladesk_timers_fired",
    "Timers a worker fired, by kind and outcome (acted, or skipped as stale).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
TIMER_LAG = Histogram(
    "sladesk_timer_lag_seconds",
    "From a timer's due instant to the moment a worker acted on it.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 3600.0),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "sladesk_deliveries",
    "Outbox deliveries by channel and outcome (sent, retried, dead).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
INBOUND = Counter(
    "sladesk_inbound_messages",
    "Inbound mail by outcome (opened, replied, refused, ignored, quarantined).",
    ["outcome"],
    registry=REGISTRY,
)
