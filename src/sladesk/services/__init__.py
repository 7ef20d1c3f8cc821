"""Use cases: the only writers of the store. Each is one transaction and one event in a ticket's history."""

from sladesk.services import policies
from sladesk.services.actors import Actor, Role
from sladesk.services.directory import (
    actor_for_password,
    actor_for_token,
    actor_of,
    create_organisation,
    create_user,
    issue_token,
    update_organisation,
    update_user,
)
from sladesk.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidFieldError,
    NotFoundError,
    StaleVersionError,
)
from sladesk.services.tickets import (
    Change,
    assign,
    change_category,
    change_path,
    change_severity,
    change_status,
    change_tier,
    confirm_severity,
    get_ticket,
    merge_duplicate,
    open_ticket,
    reply,
    set_outside_incident,
)

__all__ = [
    "Actor",
    "Change",
    "ConflictError",
    "ForbiddenError",
    "InvalidFieldError",
    "NotFoundError",
    "Role",
    "StaleVersionError",
    "actor_for_password",
    "actor_for_token",
    "actor_of",
    "assign",
    "change_category",
    "change_path",
    "change_severity",
    "change_status",
    "change_tier",
    "confirm_severity",
    "create_organisation",
    "create_user",
    "get_ticket",
    "issue_token",
    "merge_duplicate",
    "open_ticket",
    "policies",
    "reply",
    "set_outside_incident",
    "update_organisation",
    "update_user",
]
