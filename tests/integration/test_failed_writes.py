"""Failed writes leave nothing behind: no stored file, no ticket, no idempotency key left in progress."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sladesk.api.routes import files
from sladesk.api.schemas import TicketCreate, TicketOut
from sladesk.services import Role, idempotency
from sladesk.services.errors import ConflictError
from sladesk.store import transaction
from sladesk.store.tables import Attachment, IdempotencyKey, SlaClock, Ticket, TicketEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OTHER_PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


@pytest.fixture
def desk(desk):
    """A customer of Acme with a ticket, a customer of Globex with one, an agent, and one file already stored."""
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("stranger", Role.CUSTOMER, desk.organisation("Globex", "alleo"))
    desk.user("agent", Role.AGENT)
    for who in ("customer", "stranger"):
        desk.ids[f"{who}_ticket"] = desk.client.post(
            "/api/v1/tickets",
            headers=desk.headers[who],
            json={"subject": "Broken", "description": "See screenshot", "severity": 2},
        ).json()["id"]
    stored = desk.client.post(
        f"/api/v1/tickets/{desk.ids['customer_ticket']}/attachments",
        headers=desk.headers["customer"],
        files={"file": ("first.png", PNG, "image/png")},
    )
    assert stored.status_code == 201
    return desk


def on_disk(storage: Path) -> list[str]:
    """Every file and directory under `storage`, hidden temporary files included."""
    return sorted(str(path.relative_to(storage)) for path in storage.rglob("*"))


def attachment_rows(desk) -> int:
    with desk.sessions() as session:
        return session.scalar(select(func.count()).select_from(Attachment)) or 0


@pytest.mark.parametrize("target", ["missing", "stranger_ticket"])
def test_an_upload_to_a_ticket_the_caller_cannot_see_stores_no_file(desk, target):
    before = on_disk(desk.attachments)
    ticket_id = 987_654 if target == "missing" else desk.ids[target]
    answer = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["customer"],
        files={"file": ("big.png", OTHER_PNG, "image/png")},
    )
    assert answer.status_code == 404
    assert on_disk(desk.attachments) == before
    assert attachment_rows(desk) == 1


def test_an_upload_whose_transaction_fails_keeps_neither_its_file_nor_its_row(desk, monkeypatch):
    before = on_disk(desk.attachments)

    def broken(row: Attachment) -> files.AttachmentOut:
        raise RuntimeError("the answer could not be built")

    monkeypatch.setattr(files.AttachmentOut, "of", broken)
    client = TestClient(desk.app(), raise_server_exceptions=False)
    answer = client.post(
        f"/api/v1/tickets/{desk.ids['customer_ticket']}/attachments",
        headers=desk.headers["customer"],
        files={"file": ("second.png", OTHER_PNG, "image/png")},
    )
    assert answer.status_code == 500
    assert on_disk(desk.attachments) == before
    assert attachment_rows(desk) == 1


def test_the_same_content_uploaded_twice_is_stored_once_and_served_to_both(desk):
    ticket_id = desk.ids["customer_ticket"]
    again = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["agent"],
        files={"file": ("again.png", PNG, "image/png")},
    )
    assert again.status_code == 201
    assert [path for path in on_disk(desk.attachments) if "/" in path] == [
        f"{again.json()['sha256'][:2]}/{again.json()['sha256']}"
    ]
    downloaded = desk.client.get(
        f"/api/v1/tickets/{ticket_id}/attachments/{again.json()['id']}", headers=desk.headers["customer"]
    )
    assert downloaded.content == PNG


BODY = {"subject": "Nobody can sign in", "description": "Since 14:50.", "severity": 1}


def digest_of(body: dict[str, object]) -> str:
    """What the API keeps of a body to tell a retry from a different request under the same key."""
    return hashlib.sha256(TicketCreate.model_validate(body).model_dump_json().encode()).hexdigest()


def key_left_by_a_dead_request(desk, key: str) -> None:
    """The key as a request that died with its server leaves it: claimed now, never answered."""
    with transaction(desk.sessions) as session:
        session.add(
            IdempotencyKey(
                user_id=desk.ids["customer"], key=key, request_sha256=digest_of(BODY), created_at=desk.clock()
            )
        )


def counts(desk) -> dict[str, int]:
    with desk.sessions() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Ticket, TicketEvent, SlaClock, IdempotencyKey)
        }


def test_a_key_whose_request_died_is_taken_over_once_its_lease_runs_out(desk):
    key_left_by_a_dead_request(desk, "died-1")
    before = counts(desk)
    headers = {**desk.headers["customer"], "Idempotency-Key": "died-1"}
    assert desk.client.post("/api/v1/tickets", headers=headers, json=BODY).status_code == 409
    desk.clock.advance(seconds=idempotency.LEASE.total_seconds() - 1)
    assert desk.client.post("/api/v1/tickets", headers=headers, json=BODY).status_code == 409
    desk.clock.advance(seconds=1)
    created = desk.client.post("/api/v1/tickets", headers=headers, json=BODY)
    assert created.status_code == 201
    desk.clock.advance(minutes=5)
    again = desk.client.post("/api/v1/tickets", headers=headers, json=BODY)
    assert (again.status_code, again.json(), again.headers["Location"]) == (
        201,
        created.json(),
        created.headers["Location"],
    )
    assert counts(desk)["tickets"] == before["tickets"] + 1
    assert counts(desk)["idempotency_keys"] == before["idempotency_keys"]


def test_a_request_whose_key_was_taken_over_cannot_keep_its_ticket(desk):
    slow = idempotency.claim(desk.sessions, desk.ids["customer"], "slow-1", digest_of(BODY), desk.clock())
    assert isinstance(slow, idempotency.Claim)
    desk.clock.advance(seconds=idempotency.LEASE.total_seconds())
    headers = {**desk.headers["customer"], "Idempotency-Key": "slow-1"}
    retried = desk.client.post("/api/v1/tickets", headers=headers, json=BODY)
    assert retried.status_code == 201
    with pytest.raises(ConflictError), transaction(desk.sessions) as session:
        idempotency.remember(session, slow, 201, {"id": 0}, "/api/v1/tickets/0")
    replayed = desk.client.post("/api/v1/tickets", headers=headers, json=BODY)
    assert replayed.json() == retried.json()


@pytest.mark.parametrize("failing", ["answer", "remembering"])
def test_a_ticket_whose_answer_fails_after_the_insert_leaves_nothing(desk, monkeypatch, failing):
    before = counts(desk)

    def broken(*arguments: object) -> None:
        raise RuntimeError("the answer could not be given")

    if failing == "answer":
        monkeypatch.setattr(TicketOut, "of", broken)
    else:
        monkeypatch.setattr(idempotency, "remember", broken)
    client = TestClient(desk.app(), raise_server_exceptions=False)
    headers = {**desk.headers["customer"], "Idempotency-Key": f"fails-{failing}"}
    assert client.post("/api/v1/tickets", headers=headers, json=BODY).status_code == 500
    if failing == "answer":  # without a key as well
        assert client.post("/api/v1/tickets", headers=desk.headers["customer"], json=BODY).status_code == 500
    assert counts(desk) == before
    monkeypatch.undo()
    assert desk.client.post("/api/v1/tickets", headers=headers, json=BODY).status_code == 201
