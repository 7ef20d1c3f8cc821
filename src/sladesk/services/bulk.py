"""Opening many tickets at once, for an importer or a load test, through the same checks and seam."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sladesk.policy import Policy
from sladesk.services.actors import Actor
from sladesk.services.errors import ForbiddenError, InvalidFieldError
from sladesk.services.record import record_openings
from sladesk.services.tickets import Opening, prepare_opening
from sladesk.sla.events import OpenedEvent
from sladesk.store.tables import Organisation, Ticket, User

BATCH = 2000  # tickets written per multi-row statement


class OpeningChecks:
    """Checks openings as `open_ticket` checks one, with their organisations and requesters read at once."""

    def __init__(self, session: Session, actor: Actor, openings: Sequence[Opening]) -> None:
        self.session = session
        self.actor = actor
        self.organisations = {
            o.id: o
            for o in session.scalars(
                select(Organisation).where(Organisation.id.in_({x.organisation_id for x in openings}))
            )
        }
        self.requesters = {
            row.id: row.organisation_id
            for row in session.execute(
                select(User.id, User.organisation_id).where(
                    User.id.in_({x.requester_id for x in openings}), User.active.is_(True)
                )
            )
        }
        self.policies: dict[str, Policy] = {}

    def prepare(self, opening: Opening, where: str) -> tuple[Ticket, OpenedEvent, Policy]:
        """The new ticket row, its `opened` event and its policy; a refused field is named under `where`."""
        organisation = self.organisations.get(opening.organisation_id)
        if organisation is None:
            raise InvalidFieldError(f"{where}.organisation_id", f"no organisation {opening.organisation_id}")
        if self.requesters.get(opening.requester_id) != organisation.id:
            raise InvalidFieldError(
                f"{where}.requester_id", "the requester must be an active user of the ticket's organisation"
            )
        pinned = self.policies.get(organisation.policy_id)
        try:
            prepared = prepare_opening(self.session, self.actor, opening, organisation, policy=pinned)
        except InvalidFieldError as error:
            message = str(error).removeprefix(f"{error.field}: ")
            raise InvalidFieldError(f"{where}.{error.field}", message) from None
        self.policies[organisation.policy_id] = prepared[2]  # pinned once for the unit of work
        return prepared


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
    A whole history (an opening and its later events) is imported by `history_import.import_histories`.
    """
    if not actor.is_staff:
        raise ForbiddenError("only agents and admins open tickets in bulk")
    checks = OpeningChecks(session, actor, openings)
    ids: list[int] = []
    for start in range(0, len(openings), BATCH):
        prepared = [
            checks.prepare(opening, f"openings[{index}]")
            for index, opening in enumerate(openings[start : start + BATCH], start=start)
        ]
        ids.extend(record_openings(session, prepared, actor_id=actor.user_id))
        if progress is not None:
            progress(len(ids))
    return ids
