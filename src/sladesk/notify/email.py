"""Mail to people over SMTP, threaded by Message-ID, In-Reply-To and References.

A message is handed to the desk's SMTP server (`SLADESK_SMTP_*`), which relays it. Its Message-ID is
the same on every attempt, so a retry after an unclear failure reads as the same message to mail clients.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sladesk.config import Settings
from sladesk.notify.failure import DeliveryFailed
from sladesk.notify.http import tls_context

IDEMPOTENCY_HEADER = "X-Sladesk-Idempotency-Key"
MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")

# Headers the desk writes itself; a payload's `headers` may add others (Auto-Submitted, Reply-To), not these.
OWN_HEADERS = frozenset(
    name.lower() for name in ("From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To", "References")
) | {IDEMPOTENCY_HEADER.lower()}


class EmailPayload(BaseModel):
    """An outbox `email` message: recipients, subject, plain text and its place in a thread."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    to: list[str] = Field(min_length=1)
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None = None
    references: list[str] = []
    headers: dict[str, str] = {}

    @field_validator("to", mode="before")
    @classmethod
    def _one_recipient_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("message_id", "in_reply_to")
    @classmethod
    def _message_id(cls, value: str | None) -> str | None:
        if value is not None and not MESSAGE_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a Message-ID such as <ticket-12.3@example.com>")
        return value

    @field_validator("references")
    @classmethod
    def _message_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not MESSAGE_ID.fullmatch(value):
                raise ValueError(f"{value!r} is not a Message-ID such as <ticket-12.3@example.com>")
        return values


def envelope_recipients(message: EmailPayload) -> list[str]:
    """The bare addresses the message goes to, from `to` entries that may carry display names."""
    addresses = [address for _, address in getaddresses(message.to)]
    bad = [address for address in addresses if "@" not in address]
    if bad or not addresses:
        raise DeliveryFailed(f"email to {message.to!r}: not a list of mail addresses", retryable=False)
    return addresses


def compose(message: EmailPayload, idempotency_key: str, mail_from: str, now: datetime) -> EmailMessage:
    """The message as it goes on the wire, dated `now`; a header it cannot carry is not retryable."""
    extra = [name for name in message.headers if name.lower() in OWN_HEADERS]
    if extra:
        raise DeliveryFailed(f"email headers {', '.join(extra)} are the desk's own to set", retryable=False)
    mail = EmailMessage()
    try:
        mail["From"] = mail_from
        mail["To"] = ", ".join(message.to)
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(now.astimezone(UTC), usegmt=True)
        mail["Message-ID"] = message.message_id
        if message.in_reply_to:
            mail["In-Reply-To"] = message.in_reply_to
        if message.references:
            mail["References"] = " ".join(message.references)
        for name, value in message.headers.items():
            mail[name] = value
        mail[IDEMPOTENCY_HEADER] = idempotency_key
        mail.set_content(message.text)
    except (ValueError, TypeError) as error:
        raise DeliveryFailed(f"email {message.message_id} cannot be written: {error}", retryable=False) from None
    return mail


def send(message: EmailPayload, idempotency_key: str, settings: Settings, *, mailer: Mailer | None = None) -> None:
    """Hand the message to the desk's SMTP server; return once the server has accepted it for every recipient.

    `mailer` is the delivery pass's SMTP connection; without one, a connection is opened for this message alone.
    """
    if not settings.smtp_host:
        raise DeliveryFailed("SMTP is not configured (SLADESK_SMTP_HOST)", retryable=True)
    if not settings.mail_from:
        raise DeliveryFailed("The desk's mail address is not configured (SLADESK_MAIL_FROM)", retryable=True)
    recipients = envelope_recipients(message)
    mail = compose(message, idempotency_key, settings.mail_from, datetime.now(UTC))
    server = f"SMTP server {settings.smtp_host}:{settings.smtp_port}"
    try:
        with contextlib.ExitStack() as stack:
            through = mailer if mailer is not None else stack.enter_context(Mailer(settings))
            refused = through.hand_over(mail, parseaddr(settings.mail_from)[1], recipients)
    except smtplib.SMTPRecipientsRefused as error:
        raise _refused_recipients(server, error.recipients, accepted=False) from None
    except smtplib.SMTPSenderRefused as error:
        raise _answered(f"{server} refused the sender {error.sender}", error.smtp_code, error.smtp_error) from None
    except smtplib.SMTPDataError as error:
        raise _answered(f"{server} refused the message", error.smtp_code, error.smtp_error) from None
    except smtplib.SMTPAuthenticationError as error:
        reason = f"{server} refused the login of SLADESK_SMTP_USERNAME: {_said(error.smtp_code, error.smtp_error)}"
        raise DeliveryFailed(reason, retryable=True) from None
    except smtplib.SMTPNotSupportedError as error:
        missing = str(error).rstrip(".")
        raise DeliveryFailed(f"{server}: {missing}{_setting_to_check(missing)}", retryable=True) from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryFailed(f"{server} answered {_said(error.smtp_code, error.smtp_error)}", True) from None
    except ssl.SSLError as error:
        reason = f"{server}: TLS failed ({error}); check SLADESK_SMTP_SECURITY and SLADESK_SMTP_PORT"
        raise DeliveryFailed(reason, retryable=True) from None
    except (smtplib.SMTPException, OSError) as error:
        # Refused or dropped connections, timeouts, unknown hosts: all OSError or SMTPException.
        detail = str(error) or type(error).__name__
        raise DeliveryFailed(f"{server} unreachable: {detail}", retryable=True) from None
    if refused:
        raise _refused_recipients(server, refused, accepted=True)


class Mailer:
    """One SMTP connection for many messages: opened for the first, ended with QUIT when the block ends.

    The server's refusals of one message (sender, recipients, data) leave the connection usable; any other
    failure drops it, and the next message opens a new one. A reused connection the server has meanwhile
    closed is opened again once: the message had not reached it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hand_over(self, mail: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        """One message; returns the recipients the server refused while accepting the others."""
        reused = self._smtp is not None
        try:
            return self._send(mail, sender, recipients)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
        return self._send(mail, sender, recipients)

    def _send(self, mail: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        try:
            if self._smtp is None:
                self._smtp = _connect(self.settings)
            return self._smtp.send_message(mail, from_addr=sender, to_addrs=recipients)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # the server answered and the conversation was reset: the connection goes on
        except BaseException:
            self._drop()
            raise

    def close(self) -> None:
        # Once the server has the messages, a failed goodbye must not turn their deliveries into retries.
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None


def _connect(settings: Settings) -> smtplib.SMTP:
    """A connection to the desk's SMTP server, secured and logged in as the settings say."""
    host, port, timeout_s = settings.smtp_host or "", settings.smtp_port, settings.delivery_timeout_seconds
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout_s, context=tls_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout_s)
    try:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=tls_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _setting_to_check(missing: str) -> str:
    if "STARTTLS" in missing:
        return "; check SLADESK_SMTP_SECURITY"
    if "AUTH" in missing:
        return "; the server offers no login here: check SLADESK_SMTP_USERNAME and SLADESK_SMTP_SECURITY"
    return ""


def _refused_recipients(server: str, refused: dict[str, tuple[int, bytes]], *, accepted: bool) -> DeliveryFailed:
    answers = "; ".join(f"{address}: {_said(code, said)}" for address, (code, said) in refused.items())
    if accepted:
        # The others have it already: a retry would send them a second copy, so an admin decides.
        return DeliveryFailed(f"{server} accepted the message but refused {answers}", retryable=False)
    temporary = all(400 <= code < 500 for code, _ in refused.values())
    return DeliveryFailed(f"{server} refused {answers}", retryable=temporary)


def _answered(what: str, code: int, said: bytes | str) -> DeliveryFailed:
    """An SMTP refusal: 4xx is temporary (try again later), 5xx is permanent."""
    return DeliveryFailed(f"{what}: {_said(code, said)}", retryable=not 500 <= code < 600)


def _said(code: int, said: bytes | str) -> str:
    text = said.decode("utf-8", errors="replace") if isinstance(said, bytes) else said
    return f"{code} {' '.join(text.split())}".strip()
