"""The desk's settings, read from `SLADESK_*` environment variables; command-line flags override them.

Every process of a deployment (`sladesk serve`, each of its API workers, `sladesk admin`, a uvicorn
started by hand) reads the same variables, so one environment configures them all.
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sladesk.errors import SladeskError

ENV_PREFIX = "SLADESK_"

# Where `sladesk serve` and `sladesk demo` listen unless --host and --port say otherwise. These are flags
# only, not variables: an orchestrator may define SLADESK_PORT itself (Kubernetes does, as
# `tcp://10.0.0.1:8000`, for a service named sladesk), which must not stop the desk from starting.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def blank_as_unset(value: object) -> object:
    """An empty or blank variable counts as unset: the validator every optional setting shares."""
    return None if isinstance(value, str) and not value.strip() else value


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
    """Key that signs what the desk hands out: an on-call page's acknowledge and resolve links. Unset: pages carry
    no links (`sladesk serve` and `sladesk demo` make a key for their run)."""

    public_url: str | None = None
    """The desk's address as people reach it, such as `https://support.example.com`: links in its mail start
    with it. Unset: `sladesk serve` and `sladesk demo` use the address they listen on; other processes put no
    links in mail."""

    smtp_host: str | None = None
    """Host of the SMTP server that carries the desk's outgoing mail; unset: no mail is sent (it waits)."""

    smtp_port: int = Field(default=25, ge=1, le=65535)
    """Port of the SMTP server: usually 25 or 587 (`starttls`), 465 (`tls`)."""

    smtp_security: Literal["none", "starttls", "tls"] = "none"
    """`starttls` upgrades a plain connection, `tls` connects with TLS from the start (SMTPS)."""

    smtp_username: str | None = None
    """Who the desk logs in to the SMTP server as; unset: no login."""

    smtp_password: SecretStr | None = None
    """The SMTP login's password."""

    mail_from: str | None = None
    """The desk's own address, the From of its mail, such as `Support <support@example.com>`."""

    mail_domain: str | None = None
    """The domain after the @ of the desk's Message-IDs; unset: the domain of `mail_from`."""

    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """How long one delivery (an SMTP conversation, a webhook request) may take before it is retried."""

    delivery_lease_seconds: float | None = Field(default=None, ge=10, le=3600)
    """How long a worker holds the outbox messages it claims for one pass; unset: 2 minutes.

    A message still unsent when it ends is taken by another pass. A pass stops sending at half of it and
    hands back what it has not tried, so keep it well above the timeout."""

    embedded_worker: bool = True
    """Whether `sladesk serve` runs the worker (timers, outbox, mail polling) inside the server process.

    Switch it off (`false`) when standalone `sladesk worker` processes do that work."""

    @field_validator(
        "database_url", "public_url", "smtp_host", "smtp_username", "mail_from", "mail_domain", mode="before"
    )
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator(
        "database_url",
        "data_dir",
        "secret_key",
        "public_url",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "mail_from",
        "mail_domain",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_as_unset(value)

    @field_validator(
        "smtp_port",
        "smtp_security",
        "delivery_timeout_seconds",
        "delivery_lease_seconds",
        "embedded_worker",
        mode="before",
    )
    @classmethod
    def _blank_is_default(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name or ""].default
        return value.strip().lower() if info.field_name == "smtp_security" and isinstance(value, str) else value

    @field_validator("mail_from")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        if value is not None and "@" not in parseaddr(value)[1]:
            raise ValueError("expected one address such as support@example.com or 'Support <support@example.com>'")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
            raise ValueError("expected an absolute http or https URL such as https://support.example.com")
        if parts.query or parts.fragment or "?" in value or "#" in value:
            raise ValueError("expected the desk's address without a query (?) or fragment (#)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _mail_domain_from_address(self) -> Settings:
        # The model is frozen; this is its construction, so the default is filled in place once.
        if self.mail_domain is None and self.mail_from is not None:
            object.__setattr__(self, "mail_domain", parseaddr(self.mail_from)[1].rpartition("@")[2].lower())
        return self


def load_settings() -> Settings:
    """The settings from the environment as it is now; a value that does not fit is a one-line `ConfigError`."""
    try:
        return Settings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = ENV_PREFIX + ".".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(f"{name}: {problem['msg']}") from None
