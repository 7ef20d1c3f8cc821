"""Who is acting, and what each role may see and do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sladesk.services.errors import ForbiddenError


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    organisation_id: int | None

    @property
    def is_staff(self) -> bool:
        """Agents and admins see every ticket and every internal note."""
        return self.role in (Role.AGENT, Role.ADMIN)

    def may_see_organisation(self, organisation_id: int) -> bool:
        return self.is_staff or self.organisation_id == organisation_id


def require_staff(actor: Actor, doing: str) -> None:
    """Return only for an agent or admin; anyone else is told `only agents and admins <doing>`."""
    if not actor.is_staff:
        raise ForbiddenError(f"only agents and admins {doing}")


def require_admin(actor: Actor, doing: str) -> None:
    """Return only for an admin; anyone else is told `only admins <doing>`."""
    if actor.role is not Role.ADMIN:
        raise ForbiddenError(f"only admins {doing}")
