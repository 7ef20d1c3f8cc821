"""Real local servers for tests that deliver: an SMTP server that keeps the mail it receives, and an HTTP
server that records requests and checks their webhook signatures.

Both listen on 127.0.0.1 and are started and stopped by `with`:

    with smtp_receiver() as smtp, http_receiver(secret=secret) as http:
        ...  # deliver to smtp.host, smtp.port and http.url("/hooks")
        assert smtp.wait_for(1)[0].message["Subject"] == "..."

They are safe to share between threads and count deliveries by idempotency key, for tests that send
many messages from several workers.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sladesk.notify.email import IDEMPOTENCY_HEADER
from sladesk.notify.webhook import WebhookSignatureError, verify
from tests.support.processes import free_port

HOST = "127.0.0.1"


def _wait(condition: threading.Condition, ready: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    with condition:
        while not ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
            condition.wait(left)


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    login: str | None
    """Who the client logged in as, if it did."""

    @property
    def text(self) -> str:
        """The plain-text body, its SMTP line ends (CRLF) read as newlines."""
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None, "the message has no text/plain part"
        return str(body.get_content()).replace("\r\n", "\n")


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.receiver.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        received = ReceivedMail(envelope.mail_from or "", tuple(envelope.rcpt_tos), message, raw, login)
        self.receiver._keep(received)
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts.

    Recipients in `refuse` get a 550. With `credentials` (user, password), the server offers AUTH over
    plain text (tests only) and accepts that login; clients that do not log in are still served.
    """

    def __init__(self, *, refuse: Iterable[str] = (), credentials: tuple[str, str] | None = None) -> None:
        self.refuse = frozenset(address.lower() for address in refuse)
        self.credentials = credentials
        self.host = HOST
        self.port = free_port()
        self.messages: list[ReceivedMail] = []
        self._arrived = threading.Condition()
        options: dict[str, Any] = {}
        if credentials is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port, **options)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        expected = self.credentials
        given = (
            (auth_data.login.decode(), auth_data.password.decode()) if isinstance(auth_data, LoginPassword) else None
        )
        return AuthResult(success=expected is not None and given == expected, handled=False, auth_data=auth_data)

    def _keep(self, received: ReceivedMail) -> None:
        with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[ReceivedMail]:
        """The first `count` messages, once they have arrived."""
        _wait(self._arrived, lambda: len(self.messages) >= count, timeout_s, f"{count} message(s)")
        with self._arrived:
            return self.messages[:count]

    def by_idempotency_key(self) -> Counter[str]:
        """How many messages arrived with each idempotency key (a duplicate counts 2)."""
        with self._arrived:
            return Counter(str(mail.message[IDEMPOTENCY_HEADER]) for mail in self.messages)


@contextmanager
def smtp_receiver(*, refuse: Iterable[str] = (), credentials: tuple[str, str] | None = None) -> Iterator[SmtpReceiver]:
    """An `SmtpReceiver` running for the length of the block."""
    receiver = SmtpReceiver(refuse=refuse, credentials=credentials)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the HTTP server took it; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature_error: str | None = None
    """Why the webhook signature did not verify; None if it did or was not checked."""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("webhook-id") or self.headers.get("idempotency-key")


@dataclass(frozen=True)
class Answer:
    """How the HTTP server answers a path: after `delay_s`, with this status, body and headers."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class HttpReceiver:
    """An HTTP server on 127.0.0.1 that records every request and answers as each path is told to.

    With `secret`, each request carrying `webhook-signature` is checked with `sladesk.notify.webhook.verify`
    against the wall clock, as a real receiver would; a bad one is recorded and answered 401.
    """

    def __init__(self, *, secret: str | None = None) -> None:
        self.secret = secret
        self.requests: list[ReceivedRequest] = []
        self._answers: dict[str, Answer] = {}
        self._arrived = threading.Condition()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="http-receiver", daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def answer(
        self,
        path: str,
        status: int = 200,
        *,
        body: bytes = b"ok",
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Answer requests to `path` this way from now on (the default is 200 `ok` at once)."""
        self._answers[path] = Answer(status, body, headers or {}, delay_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[ReceivedRequest]:
        """The first `count` requests, once they have arrived."""
        _wait(self._arrived, lambda: len(self.requests) >= count, timeout_s, f"{count} request(s)")
        with self._arrived:
            return self.requests[:count]

    def by_idempotency_key(self) -> Counter[str]:
        """How many requests arrived with each idempotency key (a duplicate counts 2)."""
        with self._arrived:
            return Counter(request.idempotency_key or "" for request in self.requests)

    def _take(self, request: ReceivedRequest) -> Answer:
        if self.secret is not None and "webhook-signature" in request.headers:
            try:
                verify(self.secret, request.headers, request.body, now=datetime.now(UTC))
            except WebhookSignatureError as error:
                request = ReceivedRequest(request.method, request.path, request.headers, request.body, str(error))
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
        if request.signature_error is not None:
            return Answer(401, request.signature_error.encode())
        return self._answers.get(request.path, Answer())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = receiver._take(ReceivedRequest(self.command, self.path, headers, body))
                if answer.delay_s and receiver._closing.wait(answer.delay_s):
                    return
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up waiting (a timeout test); nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def http_receiver(*, secret: str | None = None) -> Iterator[HttpReceiver]:
    """An `HttpReceiver` running for the length of the block."""
    receiver = HttpReceiver(secret=secret)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
