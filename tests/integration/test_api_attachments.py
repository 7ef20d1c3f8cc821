"""Attachments: checked on the way in, stored by checksum, and shown only to who may see them."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from sladesk.api import create_app
from sladesk.services import Role
from sladesk.services.attachments import MAX_ATTACHMENT_BYTES
from tests.support.units import create_organisation, create_user, issue_token

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def desk(sessions, tmp_path):
    org = create_organisation(sessions, None, name="Acme", policy_id="alleo")
    other = create_organisation(sessions, None, name="Globex", policy_id="alleo")
    tokens = {}
    for key, role, organisation in (
        ("customer", Role.CUSTOMER, org.id),
        ("stranger", Role.CUSTOMER, other.id),
        ("agent", Role.AGENT, None),
    ):
        user = create_user(
            sessions, None, email=f"{key}@example.com", name=key, role=role, organisation_id=organisation
        )
        tokens[key] = {"Authorization": f"Bearer {issue_token(sessions, user.id, 'tests')}"}
    storage = tmp_path / "attachments"
    client = TestClient(create_app(sessions, lambda: datetime.fromisoformat("2026-12-07T09:00:00-05:00"), storage))
    ticket_id = client.post(
        "/api/v1/tickets",
        headers=tokens["customer"],
        json={"subject": "Broken", "description": "See screenshot", "severity": 2},
    ).json()["id"]
    return client, tokens, ticket_id, storage


def test_a_screenshot_is_stored_by_checksum_and_downloaded_intact(desk):
    client, tokens, ticket_id, storage = desk
    uploaded = client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=tokens["customer"],
        files={"file": ("screen.png", PNG, "image/png")},
    )
    assert uploaded.status_code == 201
    body = uploaded.json()
    digest = hashlib.sha256(PNG).hexdigest()
    assert (body["filename"], body["size_bytes"], body["sha256"]) == ("screen.png", len(PNG), digest)
    assert (storage / digest[:2] / digest).read_bytes() == PNG
    downloaded = client.get(f"/api/v1/tickets/{ticket_id}/attachments/{body['id']}", headers=tokens["agent"])
    assert downloaded.status_code == 200
    assert downloaded.content == PNG
    assert downloaded.headers["content-type"] == "image/png"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert 'attachment; filename="screen.png"' in downloaded.headers["content-disposition"]
    events = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=tokens["customer"]).json()
    assert events[-1]["type"] == "attachment"


def test_internal_attachments_and_other_organisations_stay_hidden(desk):
    client, tokens, ticket_id, _ = desk
    internal = client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=tokens["agent"],
        files={"file": ("debug.txt", b"stack trace", "text/plain")},
        data={"public": "false"},
    ).json()
    assert client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=tokens["customer"]).json() == []
    assert (
        client.get(f"/api/v1/tickets/{ticket_id}/attachments/{internal['id']}", headers=tokens["customer"]).status_code
        == 404
    )
    assert client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=tokens["stranger"]).status_code == 404
    assert (
        client.get(f"/api/v1/tickets/{ticket_id}/attachments/{internal['id']}", headers=tokens["stranger"]).status_code
        == 404
    )
    assert len(client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=tokens["agent"]).json()) == 1


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
    client, tokens, ticket_id, storage = desk
    refused = client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=tokens["customer"],
        files={"file": (name, content, content_type)},
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "file"
    assert refused.json()["detail"].startswith(detail)
    assert not storage.exists() or not any(p.is_file() for p in storage.rglob("*"))
