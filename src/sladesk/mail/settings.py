"""Where the desk's inbound mail comes from: the IMAP mailbox it polls and the addresses it answers to.

Read from `SLADESK_*` variables like the desk's other settings (`sladesk.config`); `SLADESK_MAIL_FROM` and
`SLADESK_MAIL_DOMAIN` are the same variables the outgoing mail uses.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sladesk.config import ENV_PREFIX, ConfigError, blank_as_unset

IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}


class MailboxSettings(BaseSettings):
    """The inbound side of the desk's mail; each field `name` is read from `SLADESK_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    imap_host: str | None = None
    """The IMAP server holding the support mailbox; unset: nothing is polled."""

    imap_port: int | None = Field(default=None, ge=1, le=65535)
    """Its port; unset: 993 with `tls`, 143 otherwise."""

    imap_security: Literal["tls", "starttls", "none"] = "tls"
    """`tls` connects with TLS from the start (IMAPS), `starttls` upgrades a plain connection, `none` is plain."""

    imap_username: str | None = None
    imap_password: SecretStr | None = None

    imap_folder: str = "INBOX"
    """The folder whose unseen messages become tickets and replies."""

    inbound_addresses: str | None = None
    """Comma-separated addresses the SMTP receiver accepts mail for; unset: the address of `mail_from`."""

    mail_from: str | None = None
    """The desk's own address (`Support <support@example.com>`), shared with the outgoing mail."""

    mail_domain: str | None = None
    """The domain of the desk's Message-IDs; unset: the domain of `mail_from`."""

    @field_validator(
        "imap_host",
        "imap_port",
        "imap_username",
        "imap_password",
        "inbound_addresses",
        "mail_from",
        "mail_domain",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_as_unset(value)

    @field_validator("imap_security", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "tls"
        return value

    @property
    def port(self) -> int:
        return self.imap_port or IMAP_PORTS[self.imap_security]

    @property
    def desk_addresses(self) -> tuple[str, ...]:
        """The addresses mail to the desk is sent to, lower-cased; empty when none is configured."""
        if self.inbound_addresses:
            return tuple(a.strip().lower() for a in self.inbound_addresses.split(",") if a.strip())
        address = parseaddr(self.mail_from or "")[1]
        return (address.lower(),) if "@" in address else ()

    @property
    def message_id_domain(self) -> str | None:
        """The domain the desk's Message-IDs end with, as its outgoing mail sets them."""
        if self.mail_domain:
            return self.mail_domain
        address = parseaddr(self.mail_from or "")[1]
        return address.rpartition("@")[2] or None


def load_mailbox_settings() -> MailboxSettings:
    """The inbound mail settings from the environment as it is now; a bad value is a one-line `ConfigError`."""
    try:
        return MailboxSettings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = ENV_PREFIX + ".".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(f"{name}: {problem['msg']}") from None
