"""Attachments: checked on the way in, stored by checksum, and shown only to who may see them."""

from __future__ import annotations

import hashlib

import pytest

from sladesk.services import Role
from sladesk.services.attachments import MAX_ATTACHMENT_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def desk(desk):
    """A customer of Acme with a Sev2 ticket, a customer of Globex and an agent."""
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.user("stranger", Role.CUSTOMER, desk.organisation("Globex", "alleo"))
    desk.user("agent", Role.AGENT)
    desk.ids["ticket"] = desk.client.post(
        "/api/v1/tickets",
        headers=desk.headers["customer"],
        json={"subject": "Broken", "description": "See screenshot", "severity": 2},
    ).json()["id"]
    return desk


def test_a_screenshot_is_stored_by_checksum_and_downloaded_intact(desk):
    ticket_id, storage = desk.ids["ticket"], desk.attachments
    uploaded = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["customer"],
        files={"file": ("screen.png", PNG, "image/png")},
    )
    assert uploaded.status_code == 201
    body = uploaded.json()
    digest = hashlib.sha256(PNG).hexdigest()
    assert (body["filename"], body["size_bytes"], body["sha256"]) == ("screen.png", len(PNG), digest)
    assert (storage / digest[:2] / digest).read_bytes() == PNG
    downloaded = desk.client.get(f"/api/v1/tickets/{ticket_id}/attachments/{body['id']}", headers=desk.headers["agent"])
    assert downloaded.status_code == 200
    assert downloaded.content == PNG
    assert downloaded.headers["content-type"] == "image/png"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert 'attachment; filename="screen.png"' in downloaded.headers["content-disposition"]
    events = desk.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=desk.headers["customer"]).json()
    assert events[-1]["type"] == "attachment"


def test_internal_attachments_and_other_organisations_stay_hidden(desk):
    ticket_id = desk.ids["ticket"]
    internal = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["agent"],
        files={"file": ("debug.txt", b"stack trace", "text/plain")},
        data={"public": "false"},
    ).json()
    assert desk.client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=desk.headers["customer"]).json() == []
    assert (
        desk.client.get(
            f"/api/v1/tickets/{ticket_id}/attachments/{internal['id']}", headers=desk.headers["customer"]
        ).status_code
        == 404
    )
    assert (
        desk.client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=desk.headers["stranger"]).status_code == 404
    )
    assert (
        desk.client.get(
            f"/api/v1/tickets/{ticket_id}/attachments/{internal['id']}", headers=desk.headers["stranger"]
        ).status_code
        == 404
    )
    assert len(desk.client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=desk.headers["agent"]).json()) == 1


@pytest.mark.parametrize(
    ("name", "content", "content_type", "detail"),
    [
        (
            "big.txt",
            b"x" * (MAX_ATTACHMENT_BYTES + 1),
            "text/plain",
            f"file: over the limit of {MAX_ATTACHMENT_BYTES} bytes",
        ),
        ("fake.png", b"GIF89a not a png", "image/png", "file: the content is not image/png"),
        (
            "run.exe",
            b"MZ\x90\x00",
            "application/x-msdownload",
            "file: content type 'application/x-msdownload' is not accepted",
        ),
        ("empty.txt", b"", "text/plain", "file: the file is empty"),
    ],
    ids=["too-large", "content-not-its-type", "type-not-accepted", "empty"],
)
def test_bad_files_are_refused_with_the_reason(desk, name, content, content_type, detail):
    ticket_id, storage = desk.ids["ticket"], desk.attachments
    refused = desk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=desk.headers["customer"],
        files={"file": (name, content, content_type)},
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "file"
    assert refused.json()["detail"].startswith(detail)
    assert not storage.exists() or not any(p.is_file() for p in storage.rglob("*"))
