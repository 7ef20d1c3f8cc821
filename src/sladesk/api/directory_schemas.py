"""Request and response bodies of /api/v1/organisations and /api/v1/users; no response carries a secret's hash."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, field_validator

from sladesk.api.schemas import Body
from sladesk.services import Role
from sladesk.services.accounts import MAX_ID
from sladesk.store.tables import ApiToken, Organisation, User

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Text = Annotated[str, AfterValidator(_not_blank)]


class OrganisationCreate(Body):
    name: Text = Field(min_length=1, max_length=200)
    policy_id: str = Field(min_length=1, max_length=200, description="A built-in policy id, e.g. alleo")
    tier: str | None = Field(default=None, max_length=64, description="One of the policy's customer tiers")
    timezone: str | None = Field(default=None, max_length=64, description="An IANA time zone, e.g. Europe/Paris")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class OrganisationOut(BaseModel):
    id: int
    name: str
    policy_id: str
    tier: str | None
    timezone: str | None
    created_at: datetime

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


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: User) -> UserOut:
        return cls(
            id=row.id,
            email=row.email,
            name=row.name,
            role=Role(row.role),
            organisation_id=row.organisation_id,
            created_at=row.created_at,
        )


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class TokenCreate(Body):
    name: Text = Field(min_length=1, max_length=200, description="What the token is for, e.g. 'ci'")


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime

    @classmethod
    def of(cls, row: ApiToken) -> TokenOut:
        return cls(id=row.id, name=row.name, created_at=row.created_at)


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret, shown this once: send it as `Authorization: Bearer <token>`")
