"""The desk's settings, read from `SLADESK_*` environment variables; command-line flags override them.

Every process of a deployment (`sladesk serve`, each of its API workers, `sladesk admin`, a uvicorn
started by hand) reads the same variables, so one environment configures them all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sladesk.errors import SladeskError

ENV_PREFIX = "SLADESK_"

# Where `sladesk serve` and `sladesk demo` listen unless --host and --port say otherwise. These are flags
# only, not variables: an orchestrator may define SLADESK_PORT itself (Kubernetes does, as
# `tcp://10.0.0.1:8000`, for a service named sladesk), which must not stop the desk from starting.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ConfigError(SladeskError):
    """A `SLADESK_*` environment variable holds a value the desk cannot use."""


class Settings(BaseSettings):
    """What a desk is configured with; each field `name` is read from `SLADESK_<NAME>`.

    An empty (or blank) variable counts as unset.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str | None = None
    """SQLAlchemy URL of the database; unset: `sladesk.db` (SQLite) in the data directory."""

    data_dir: Path | None = None
    """Where the embedded database and the attachments go; unset: the platform's user data directory."""

    secret_key: SecretStr | None = None
    """Key for signing what the desk hands out (sessions, links); unset until something signs."""

    @field_validator("database_url", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("database_url", "data_dir", "secret_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def load_settings() -> Settings:
    """The settings from the environment as it is now; a value that does not fit is a one-line `ConfigError`."""
    try:
        return Settings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = ENV_PREFIX + ".".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(f"{name}: {problem['msg']}") from None
