"""Request and response bodies of /api/v1/organisations and /api/v1/users; no response carries a secret's hash."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from sladesk.api.schemas import Body, Instant
from sladesk.policy.model import check_zone
from sladesk.services import Role
from sladesk.services.accounts import MAX_ID
from sladesk.services.attachments import BIDI_CONTROLS
from sladesk.store.tables import ApiToken, Organisation, User

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if not BIDI_CONTROLS.isdisjoint(value):
        raise ValueError("must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)")
    return value.strip()


def _iana_zone(value: str) -> str:
    check_zone(value)
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Zone = Annotated[str, AfterValidator(_iana_zone)]


class OrganisationCreate(Body):
    name: Text = Field(min_length=1, max_length=200)
    policy_id: str = Field(min_length=1, max_length=200, description="A built-in policy id (alleo) or an uploaded one")
    tier: str | None = Field(default=None, max_length=64, description="One of the policy's customer tiers")
    timezone: Zone | None = Field(default=None, max_length=64, description="An IANA time zone, e.g. Europe/Paris")


class PartialUpdate(Body):
    """A PATCH body: only the fields sent change, and those in `NOT_NULL` cannot be set to null."""

    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise ValueError("cannot be null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class OrganisationUpdate(PartialUpdate):
    """Tickets opened before a policy change keep the rules they were opened under."""

    NOT_NULL = ("name", "policy_id")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    policy_id: str | None = Field(default=None, min_length=1, max_length=200, description="A policy id")
    tier: str | None = Field(default=None, max_length=64, description="One of the policy's customer tiers, or null")
    timezone: Zone | None = Field(default=None, max_length=64, description="An IANA time zone, or null")


class OrganisationOut(BaseModel):
    id: int
    name: str
    policy_id: str
    tier: str | None
    timezone: str | None
    created_at: Instant

    @classmethod
    def of(cls, row: Organisation) -> OrganisationOut:
        return cls(
            id=row.id,
            name=row.name,
            policy_id=row.policy_id,
            tier=row.tier,
            timezone=row.timezone,
            created_at=row.created_at,
        )


class OrganisationPage(BaseModel):
    items: list[OrganisationOut]
    next_cursor: str | None


class UserCreate(Body):
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    name: Text = Field(min_length=1, max_length=200)
    role: Role
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Required for customers")
    password: str | None = Field(
        default=None, min_length=8, max_length=1024, description="For signing in to the web pages; kept hashed"
    )
    support_contact: bool = Field(
        default=False,
        description="A customer who may open tickets where the organisation's policy lets only support contacts",
    )


class UserUpdate(PartialUpdate):
    NOT_NULL = ("name", "active", "role", "support_contact")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = Field(
        default=None, description="false: the user keeps its history but no token or password signs it in"
    )
    timezone: Zone | None = Field(default=None, max_length=64, description="An IANA time zone, or null")
    quiet_hours: str | None = Field(
        default=None,
        max_length=32,
        description="`22:00-07:00` in the user's time zone: notification emails wait until they end; null: none",
    )
    role: Role | None = Field(
        default=None,
        description="agent and admin change freely; to or from customer, send organisation_id too "
        "(the customer's organisation, or null for staff); the last active admin stays an admin",
    )
    organisation_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A customer's organisation; null for agents and admins"
    )
    support_contact: bool | None = Field(
        default=None,
        description="true: this customer may open tickets where the organisation's policy lets only its "
        "support contacts do so; staff are never support contacts",
    )


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    active: bool
    timezone: str | None
    quiet_hours: str | None
    support_contact: bool
    created_at: Instant

    @classmethod
    def of(cls, row: User) -> UserOut:
        return cls(
            id=row.id,
            email=row.email,
            name=row.name,
            role=Role(row.role),
            organisation_id=row.organisation_id,
            active=row.active,
            timezone=row.timezone,
            quiet_hours=row.quiet_hours,
            support_contact=bool(row.support_contact),
            created_at=row.created_at,
        )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class TokenCreate(Body):
    name: Text = Field(min_length=1, max_length=200, description="What the token is for, e.g. 'ci'")
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When it stops signing in, with a UTC offset: in the future and at most five years away. "
        "Null or absent: valid until revoked",
    )


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: Instant
    expires_at: Instant | None = Field(description="When it stops signing in; null: valid until revoked")
    last_used_at: Instant | None = Field(description="When it last authenticated a request (to within 5 minutes)")

    @classmethod
    def of(cls, row: ApiToken) -> TokenOut:
        return cls(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
        )


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret, shown this once: send it as `Authorization: Bearer <token>`")
