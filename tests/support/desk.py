"""One desk for the tests to set up: organisations, users with API tokens, and the API on them at a fixed clock.

    desk = Desk(sessions)                                  # at START unless given a FixedClock
    acme = desk.organisation("Acme", "alleo")              # its id
    desk.user("customer", Role.CUSTOMER, acme)             # its id; customer@example.com, named "customer"
    desk.client.get("/api/v1/tickets", headers=desk.headers["customer"])
    reply(desk.sessions, desk.actors["customer"], ...)     # the same user for the services

Every row is written in a committed unit of work of its own, as the operator would set a desk up, and dated at
the desk's clock.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sladesk.app import compose
from sladesk.services import Actor, Role
from tests.support.clock import FixedClock
from tests.support.units import create_organisation, create_user, issue_token

START = "2026-12-07T09:00:00-05:00"  # a Monday, 09:00 in New York


class Desk:
    """A desk on `sessions` at `clock`, with attachments kept in `attachments` (None: the app's default).

    `ids` holds every organisation by its name and every user by its key; `actors` and `headers` every user by
    its key: its Actor for the services and its Bearer token header for the API.
    """

    def __init__(
        self, sessions: sessionmaker[Session], clock: FixedClock | None = None, attachments: Path | None = None
    ) -> None:
        self.sessions = sessions
        self.clock = clock or FixedClock(START)
        self.attachments = attachments
        self.ids: dict[str, int] = {}
        self.actors: dict[str, Actor] = {}
        self.headers: dict[str, dict[str, str]] = {}

    def organisation(self, name: str, policy_id: str, tier: str | None = None) -> int:
        organisation = create_organisation(
            self.sessions, None, name=name, policy_id=policy_id, tier=tier, now=self.clock()
        )
        self.ids[name] = organisation.id
        return organisation.id

    def user(
        self,
        key: str,
        role: Role,
        organisation: int | None = None,
        password: str | None = None,
        support_contact: bool | None = None,
    ) -> int:
        """A user `key`@example.com named `key`, with an API token named "tests" (and `password` to sign in).

        A customer is a support contact of their organisation unless `support_contact` says otherwise, so
        that they may open tickets under policies that ask for one (Alleo).
        """
        user = create_user(
            self.sessions,
            None,
            email=f"{key}@example.com",
            name=key,
            role=role,
            organisation_id=organisation,
            password=password,
            support_contact=role is Role.CUSTOMER if support_contact is None else support_contact,
            now=self.clock(),
        )
        self.ids[key] = user.id
        self.actors[key] = Actor(user.id, role, organisation)
        self.headers[key] = {"Authorization": f"Bearer {issue_token(self.sessions, user.id, 'tests', self.clock())}"}
        return user.id

    def app(self) -> FastAPI:
        """A new app on the desk (the API and the pages), reading the desk's clock for `now`."""
        return compose(self.sessions, attachments_dir=self.attachments, clock=self.clock)

    @cached_property
    def client(self) -> TestClient:
        """A client of one app on the desk, made when first used."""
        return TestClient(self.app())
