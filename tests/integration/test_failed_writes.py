"""Failed writes leave nothing behind: no stored file, no ticket, no idempotency key left in progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sladesk.api.routes import files
from sladesk.services import Role
from sladesk.store.tables import Attachment

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
