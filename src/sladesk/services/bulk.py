"""Opening many tickets at once, for an importer or a load test, through the same checks and seam."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.services.actors import Actor
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.record import record_openings
from sladesk.services.tickets import Opening, prepare_opening
from sladesk.store.tables import Organisation, User

BATCH = 2000  # tickets written per multi-row statement


def open_tickets(
    session: Session,
    actor: Actor,
    openings: Sequence[Opening],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Open every ticket of `openings` in the caller's unit of work (staff only); their ids, in order.

    Each is checked as `open_ticket` checks one and replayed by the same seam, so its clocks and
    columns are exactly what opening it alone would store. `progress` hears how many were opened so far.
    """
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins open tickets in bulk")
    organisations = {
        o.id: o
        for o in session.scalars(select(Organisation).where(Organisation.id.in_({x.organisation_id for x in openings})))
    }
    requesters = {
        row.id: row.organisation_id
        for row in session.execute(
            select(User.id, User.organisation_id).where(
                User.id.in_({x.requester_id for x in openings}), User.active.is_(True)
            )
        )
    }
    ids: list[int] = []
    for start in range(0, len(openings), BATCH):
        prepared = []
        for index, opening in enumerate(openings[start : start + BATCH], start=start):
            organisation = organisations.get(opening.organisation_id)
            if organisation is None:
                raise InvalidFieldError(
                    f"openings[{index}].organisation_id", f"no organisation {opening.organisation_id}"
                )
            if requesters.get(opening.requester_id) != organisation.id:
                raise InvalidFieldError(
                    f"openings[{index}].requester_id",
                    "the requester must be an active user of the ticket's organisation",
                )
            try:
                prepared.append(prepare_opening(session, actor, opening, organisation))
            except InvalidFieldError as error:
                message = str(error).removeprefix(f"{error.field}: ")
                raise InvalidFieldError(f"openings[{index}].{error.field}", message) from None
        ids.extend(record_openings(session, prepared, actor_id=actor.user_id))
        if progress is not None:
            progress(len(ids))
    return ids
