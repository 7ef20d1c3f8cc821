"""The composed application: built from settings or the environment, as uvicorn's factory does."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from sladesk.app import build, compose, dispose_at_shutdown, factory
from sladesk.config import Settings
from sladesk.store import make_engine, make_sessions, upgrade


def _migrated(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{directory / 'sladesk.db'}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def test_factory_serves_the_api_on_the_environments_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    _migrated(tmp_path)
    monkeypatch.delenv("SLADESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("SLADESK_DATA_DIR", str(tmp_path))
    app = factory()
    assert app.state.attachments_dir == tmp_path / "attachments"
    with TestClient(app) as client:
        assert client.get("/api/health").json() == {"status": "ok"}
        assert client.get("/api/v1/tickets").status_code == 401  # the API, with its authentication
        assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer sld_nope"}).status_code == 401


def test_build_takes_the_database_url_and_data_directory_from_settings(tmp_path: Path):
    _migrated(tmp_path / "db")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db' / 'sladesk.db'}", data_dir=tmp_path / "data")
    app = build(settings)
    assert app.state.attachments_dir == tmp_path / "data" / "attachments"
    assert (tmp_path / "data").is_dir()
    with TestClient(app) as client:
        assert client.get("/api/openapi.json").json()["info"]["title"] == "sladesk"


def test_compose_serves_given_sessions(tmp_path: Path):
    _migrated(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'sladesk.db'}")
    try:
        app = compose(make_sessions(engine), attachments_dir=tmp_path / "files")
        assert app.state.attachments_dir == tmp_path / "files"
        with TestClient(app) as client:
            assert client.get("/api/health").status_code == 200
    finally:
        engine.dispose()


class _Engine:
    def __init__(self) -> None:
        self.disposed = 0

    def dispose(self) -> None:
        self.disposed += 1


def test_the_engine_is_disposed_of_when_the_app_shuts_down():
    app = FastAPI()
    engine = _Engine()
    dispose_at_shutdown(app, cast(Engine, engine))
    with TestClient(app):
        assert engine.disposed == 0
    assert engine.disposed == 1
