"""Housekeeping: idempotency keys forgotten after their retention, orphan attachment files swept, a failed move
of an uploaded file reported and mended, all of it also when a desk is upgraded."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from sladesk.services import Role
from sladesk.services.attachments import ORPHAN_FILE_GRACE, SweptFiles, sweep_orphan_files
from sladesk.services.idempotency import LEASE, RETENTION, purge_idempotency_keys
from sladesk.services.maintenance import upgrade_desk
from sladesk.store import transaction
from sladesk.store.tables import Attachment, IdempotencyKey
from tests.support.desk import Desk

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TICKET = {"subject": "Broken", "description": "See screenshot", "severity": 2}
SWEPT_AT = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # the instant the tests sweep at; file times are set from it


@pytest.fixture
def desk(desk: Desk) -> Desk:
    desk.user("customer", Role.CUSTOMER, desk.organisation("Acme", "alleo"))
    desk.ids["ticket"] = desk.client.post("/api/v1/tickets", headers=desk.headers["customer"], json=TICKET).json()["id"]
    return desk


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What `sladesk.attachments` logs, whatever the handlers of `sladesk` are."""
    logger = logging.getLogger("sladesk.attachments")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def _keys(desk: Desk) -> int:
    with desk.sessions() as session:
        return session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0


def _open_with_key(desk: Desk, key: str) -> int:
    headers = {**desk.headers["customer"], "Idempotency-Key": key}
    created = desk.client.post("/api/v1/tickets", headers=headers, json=TICKET)
    assert created.status_code in (200, 201), created.text
    ticket_id: int = created.json()["id"]
    return ticket_id


def test_idempotency_keys_are_forgotten_a_day_after_their_claim_and_a_retry_then_is_a_new_request(desk):
    first = _open_with_key(desk, "monday")
    desk.clock.advance(hours=1)
    _open_with_key(desk, "an hour later")
    assert _open_with_key(desk, "monday") == first  # within the day: the same answer
    with transaction(desk.sessions) as session:
        assert purge_idempotency_keys(session, desk.clock() + RETENTION - timedelta(hours=1)) == 0  # exactly a day
    with transaction(desk.sessions) as session:
        assert purge_idempotency_keys(session, desk.clock() + RETENTION - timedelta(minutes=59)) == 1
    assert _keys(desk) == 1
    assert _open_with_key(desk, "monday") != first


def test_keys_are_never_purged_within_their_lease(desk):
    with transaction(desk.sessions) as session, pytest.raises(ValueError, match="lease"):
        purge_idempotency_keys(session, desk.clock(), older_than=LEASE)


def _age(path: Path, age: timedelta) -> None:
    """Make `path` last written `age` before SWEPT_AT."""
    instant = (SWEPT_AT - age).timestamp()
    os.utime(path, (instant, instant))


def _upload(desk: Desk, content: bytes = PNG):
    return desk.client.post(
        f"/api/v1/tickets/{desk.ids['ticket']}/attachments",
        headers=desk.headers["customer"],
        files={"file": ("screen.png", content, "image/png")},
    )


def _sweep(desk: Desk, older_than: timedelta = ORPHAN_FILE_GRACE) -> SweptFiles:
    assert desk.attachments is not None
    with transaction(desk.sessions) as session:
        return sweep_orphan_files(session, desk.attachments, SWEPT_AT, older_than)


def _stored(storage: Path, content: bytes) -> Path:
    digest = hashlib.sha256(content).hexdigest()
    path = storage / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_uploads_whose_transaction_never_committed_are_removed_once_past_the_grace_period(desk):
    storage = desk.attachments
    storage.mkdir(parents=True)
    crashed, committing = storage / ".upload-crashed", storage / ".upload-committing"
    crashed.write_bytes(b"half an upload")
    committing.write_bytes(b"an upload being committed")
    _age(crashed, ORPHAN_FILE_GRACE + timedelta(seconds=1))
    _age(committing, ORPHAN_FILE_GRACE - timedelta(seconds=1))
    assert _sweep(desk) == SweptFiles(removed=1, restored=0)
    assert not crashed.exists() and committing.exists()


def test_stored_files_no_attachment_names_are_removed_and_the_others_kept(desk):
    assert _upload(desk).status_code == 201
    storage = desk.attachments
    named = _stored(storage, PNG)  # the upload's own file
    orphan, young_orphan = _stored(storage, b"restored from an older backup"), _stored(storage, b"young")
    not_ours = named.parent / "notes.txt"
    not_ours.write_text("an operator's notes")
    for path in (named, orphan, not_ours):
        _age(path, timedelta(days=30))
    _age(young_orphan, timedelta(minutes=5))
    assert _sweep(desk) == SweptFiles(removed=1, restored=0)
    assert not orphan.exists()
    assert named.read_bytes() == PNG and young_orphan.exists() and not_ours.exists()


def test_a_missing_attachments_directory_has_nothing_to_sweep(desk):
    assert _sweep(desk) == SweptFiles(0, 0)


def test_a_move_that_fails_after_the_commit_is_reported_and_the_sweep_puts_the_file_in_place(desk, logged, monkeypatch):
    def disk_full(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as failing:
        failing.setattr(os, "replace", disk_full)  # the upload moves no other file
        uploaded = _upload(desk)
    assert uploaded.status_code == 201  # the attachment is stored: a 5xx would say nothing was kept
    assert "could not be put in place (" in logged.text and "No space left on device" in logged.text
    url = f"/api/v1/tickets/{desk.ids['ticket']}/attachments/{uploaded.json()['id']}"
    missing = desk.client.get(url, headers=desk.headers["customer"])
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "is missing from the desk's data directory" in missing.json()["detail"]
    assert f"attachment {uploaded.json()['id']} of ticket {desk.ids['ticket']} has no file" in logged.text
    [kept] = desk.attachments.glob(".upload-*")
    _age(kept, ORPHAN_FILE_GRACE + timedelta(minutes=1))
    assert _sweep(desk) == SweptFiles(removed=0, restored=1)
    assert desk.client.get(url, headers=desk.headers["customer"]).content == PNG
    assert list(desk.attachments.glob(".upload-*")) == []


def test_a_stored_file_uploaded_again_is_young_again_for_the_sweep(desk):
    assert _upload(desk).status_code == 201
    stored = _stored(desk.attachments, PNG)
    with transaction(desk.sessions) as session:  # as after restoring a backup older than the file
        session.execute(delete(Attachment))
    _age(stored, timedelta(days=3650))
    aged = stored.stat().st_mtime
    assert _upload(desk).status_code == 201
    assert stored.stat().st_mtime > aged  # touched when named again, so a sweep takes it for a new file


def test_upgrading_a_desk_keeps_house(desk, engine: Engine):
    _open_with_key(desk, "old")
    storage = desk.attachments
    storage.mkdir(parents=True)
    crashed = storage / ".upload-crashed"
    crashed.write_bytes(b"half an upload")
    _age(crashed, timedelta(days=2))
    upgrade_desk(engine, attachments_dir=storage, now=desk.clock() + RETENTION + timedelta(seconds=1))
    assert _keys(desk) == 0
    assert not crashed.exists()
