"""What a use case refuses, in terms the API turns into problem documents (404, 403, 409, 412, 422)."""

from __future__ import annotations

from typing import Any

from sladesk.errors import SladeskError


class NotFoundError(SladeskError):
    """No such thing, or not one the actor may see (the two look the same on purpose)."""


class ForbiddenError(SladeskError):
    """The actor may see this but not do that."""


class ConflictError(SladeskError):
    """The request clashes with the current state (a transition the policy does not allow)."""

    @property
    def details(self) -> dict[str, Any]:
        """More members of the problem document (a link to what to do instead); none by default."""
        return {}


class StaleVersionError(SladeskError):
    """The ticket changed since the version the caller read."""

    def __init__(self, ticket_id: int, expected: int, current: int | None) -> None:
        self.ticket_id, self.expected, self.current = ticket_id, expected, current
        now = f"it is at version {current}" if current is not None else "it was changed meanwhile"
        super().__init__(f"ticket {ticket_id} is not at version {expected}: {now}; read it again")


class InvalidFieldError(SladeskError):
    """A field's value is refused; `field` names it as the caller sent it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")
