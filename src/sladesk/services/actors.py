"""Who is acting, and what each role may see and do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
