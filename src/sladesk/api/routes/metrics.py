"""/metrics: Prometheus metrics of the timers, the outbox and inbound mail.

The counters and the lag histogram are this process's own (the embedded worker's, in `sladesk serve`);
the gauges are read from the database at scrape time, so they describe the whole desk.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from sladesk.api.auth import Sessions
from sladesk.jobs.metrics import REGISTRY
from sladesk.services.delivery import outbox_depth
from sladesk.store import reading
from sladesk.store.tables import Timer

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, include_in_schema=True)
def metrics(sessions: Sessions, request: Request) -> Response:
    """Timers due and pending, outbox depth by status, and this process's firing and delivery counts."""
    now: datetime = request.app.state.clock()
    with reading(sessions) as session:
        due = session.scalar(select(func.count()).where(Timer.fired_at.is_(None), Timer.due_at <= now)) or 0
        pending = session.scalar(select(func.count()).where(Timer.fired_at.is_(None))) or 0
        depth = outbox_depth(session)
    gauges = CollectorRegistry()
    Gauge("sladesk_timers_due", "Unfired timers whose instant has passed.", registry=gauges).set(due)
    Gauge("sladesk_timers_pending", "Unfired timers, due or not.", registry=gauges).set(pending)
    outbox = Gauge("sladesk_outbox_messages", "Outbox messages by status.", ["status"], registry=gauges)
    for status in ("pending", "sent", "dead", "cancelled"):
        outbox.labels(status).set(depth.get(status, 0))
    body = generate_latest(gauges) + generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
