"""Settings from SLADESK_* variables, and the data directory and database URL the store derives from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sladesk.config import Settings, load_settings
from sladesk.errors import StoreError
from sladesk.store import data_dir, database_url


@pytest.fixture(autouse=True)
def _no_sladesk_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("SLADESK_DATABASE_URL", "SLADESK_DATA_DIR", "SLADESK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)


def test_settings_read_every_sladesk_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SLADESK_DATABASE_URL", "  postgresql+psycopg://desk@db.example/desk  ")
    monkeypatch.setenv("SLADESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLADESK_SECRET_KEY", "s3cret")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://desk@db.example/desk"
    assert settings.data_dir == tmp_path / "data"
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_unset_and_blank_variables_mean_the_defaults(monkeypatch: pytest.MonkeyPatch):
    assert load_settings() == Settings(database_url=None, data_dir=None, secret_key=None)
    for name in ("SLADESK_DATABASE_URL", "SLADESK_DATA_DIR", "SLADESK_SECRET_KEY"):
        monkeypatch.setenv(name, "  ")
    assert load_settings() == Settings(database_url=None, data_dir=None, secret_key=None)


def test_other_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch):
    # An orchestrator's own SLADESK_PORT (Kubernetes sets tcp://... for a service named sladesk) is not read.
    monkeypatch.setenv("SLADESK_PORT", "tcp://10.0.0.1:8000")
    monkeypatch.setenv("SLADESK_SOMETHING_ELSE", "x")
    assert load_settings() == Settings()


def test_data_dir_defaults_to_the_platform_user_data_directory(tmp_path: Path):
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "sladesk"
    assert data_dir().is_dir()


def test_data_dir_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SLADESK_DATA_DIR", "~/desk")
    assert data_dir() == tmp_path / "home" / "desk"


def test_data_dir_that_cannot_be_created_is_one_store_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=r"^cannot create the data directory .*/file/desk: Not a directory$"):
        data_dir(Settings(data_dir=blocker / "desk"))


def test_database_url_from_the_environment_or_given_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SLADESK_DATA_DIR", str(tmp_path / "data"))
    assert database_url() == f"sqlite:///{tmp_path / 'data' / 'sladesk.db'}"
    assert database_url(Settings(data_dir=tmp_path / "other")) == f"sqlite:///{tmp_path / 'other' / 'sladesk.db'}"
    monkeypatch.setenv("SLADESK_DATABASE_URL", "postgresql+psycopg://desk@db.example/desk")
    assert database_url() == "postgresql+psycopg://desk@db.example/desk"


def test_the_link_key_is_made_once_for_its_owner_and_then_read(tmp_path: Path):
    from sladesk.cli.serve import kept_secret_key

    path = tmp_path / "secret-key"
    assert kept_secret_key(path, create=False) is None  # a worker makes none
    assert not path.exists()
    made = kept_secret_key(path, create=True)
    assert made is not None and len(made) >= 43
    assert path.stat().st_mode & 0o777 == 0o600
    assert kept_secret_key(path, create=True) == kept_secret_key(path, create=False) == made

    path.write_text("\n")
    with pytest.raises(StoreError, match="holds no key: delete it, or set SLADESK_SECRET_KEY"):
        kept_secret_key(path, create=True)
    path.unlink()
    path.mkdir()
    with pytest.raises(StoreError, match="cannot keep the key that signs links in mail in"):
        kept_secret_key(path, create=True)


def test_a_standalone_worker_signs_with_the_kept_key_and_never_makes_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    import os

    from sladesk.cli import worker
    from sladesk.cli.serve import kept_secret_key

    monkeypatch.setenv("SLADESK_SECRET_KEY", "")  # restored afterwards: the worker sets it
    worker._kept_link_key(tmp_path)
    assert os.environ["SLADESK_SECRET_KEY"] == ""
    assert not (tmp_path / "secret-key").exists()

    kept = kept_secret_key(tmp_path / "secret-key", create=True)
    worker._kept_link_key(tmp_path)
    assert os.environ["SLADESK_SECRET_KEY"] == kept
    secret = load_settings().secret_key
    assert secret is not None and secret.get_secret_value() == kept

    monkeypatch.setenv("SLADESK_SECRET_KEY", "chosen")
    worker._kept_link_key(tmp_path)
    assert os.environ["SLADESK_SECRET_KEY"] == "chosen"  # a key of one's own wins
