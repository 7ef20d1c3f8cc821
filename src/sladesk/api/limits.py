"""What a request may carry, checked before any route sees it.

- A cap on request bodies, enforced before anything reads them: 413 instead of a body held in
  memory. A declared `Content-Length` over the cap is refused at once; a body sent without one
  (chunked) is counted as it arrives and refused as soon as it passes the cap.
- One `Content-Type` header at most: the cap follows the media type the app parses the body as, and
  with two of them the framework and the cap could read different ones; answered 400.
- No NUL character (`%00`) in the path or the query: no text the desk stores or looks up can hold
  one (PostgreSQL refuses it), so such a URL is a client error, answered 400.
- No JSON body nesting objects and arrays deeper than a request body may (`MAX_NESTING` levels in a
  field): refused 422, naming the field, before any parser recurses into it.

Below the application, `GuardedHttpProtocol` is the HTTP/1.1 connection `sladesk serve` runs: a client
must send a request's head (request line and headers) within `HEAD_TIMEOUT_SECONDS` and keep its body
coming, and a head holds at most `MAX_HEADERS` headers and `MAX_HEAD_BYTES` bytes. A slow client would
otherwise hold a connection, and the memory of what it sent, for as long as it liked.
"""

from __future__ import annotations

import asyncio
import http
import json
import re
from typing import Any, ClassVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sladesk.services.attachments import MAX_ATTACHMENT_BYTES

MAX_NESTING = 32  # as `sladesk.api.schemas.MAX_NESTING`: levels of objects and arrays within one field
MAX_BODY_BYTES = 1024 * 1024  # JSON and YAML bodies: far above the longest field a ticket allows
MAX_UPLOAD_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024  # one attachment and its multipart framing
HEAD_TIMEOUT_SECONDS = 20.0  # from a request's first byte (or the connection's opening) to the end of its headers
LINGER_SECONDS = 2.0  # after a refusal, how long the rest of the client's request is read and dropped
BODY_TIMEOUT_SECONDS = 20.0  # for a body to arrive, plus a second for every `BODY_MIN_BYTES_PER_SECOND` received
BODY_MIN_BYTES_PER_SECOND = 1000  # so a 10 MiB upload may take as long as a link of 8 kbit/s needs, a trickle less
MAX_HEADERS = 100  # as Apache's LimitRequestFields; the desk's own clients send about ten
MAX_HEAD_BYTES = 32 * 1024  # the request line and every header name and value


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body without a declared length runs past the cap.

    An HTTPException, so the framework answers it as a 413 problem wherever the body is being read.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(None, limit))


class BodyLimit:
    """ASGI middleware: multipart uploads may carry one attachment, every other body stays under 1 MiB.

    JSON bodies also go through `NestingLimit`.
    """

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES, max_upload: int = MAX_UPLOAD_BYTES) -> None:
        self.app = NestingLimit(app)  # inside the cap: it reads a JSON body whole before passing it on
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("raw_path", b"") or b"%00" in scope.get("query_string", b""):
            await _refuse(send, 400, "the URL must not contain NUL characters (%00)")
            return
        headers = dict(scope["headers"])
        content_types = [value for name, value in scope["headers"] if name.lower() == b"content-type"]
        if len(content_types) > 1:
            # The framework parses the body by the first, this cap would follow the last: a JSON body could be
            # sent under the upload cap. Which one the client meant is not for the desk to guess.
            await _refuse(send, 400, "the Content-Type header must be sent at most once")
            return
        media_type = content_types[0].split(b";")[0].strip().lower() if content_types else b""
        limit = self.max_upload if media_type.startswith(b"multipart/") else self.max_body
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _refuse(send, 400, "Content-Length is not a number")
                return
            if length > limit:
                await _refuse(send, 413, _too_large(length, limit))
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as error:
            if not started:
                await _refuse(send, 413, str(error.detail))


class NestingLimit:
    """ASGI middleware: a JSON body whose fields nest deeper than `MAX_NESTING` levels is refused, unparsed.

    Python's JSON parser recurses once a level, so a deep enough body would exhaust the stack; this reads
    the body (under the cap `BodyLimit` puts on it) and scans it without recursing, then passes it on.
    """

    def __init__(self, app: ASGIApp, max_nesting: int = MAX_NESTING) -> None:
        self.app = app
        self.max_nesting = max_nesting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope["type"] != "http" or not (content_type == b"application/json" or content_type.endswith(b"+json")):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        too_deep = _too_deep(body, self.max_nesting + 1)  # the body's own object is one level more
        if too_deep is not None:
            field = too_deep or None
            detail = f"objects and arrays must not nest deeper than {self.max_nesting} levels"
            await _refuse(send, 422, f"{field}: {detail}" if field else detail, field)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _too_deep(body: bytes, limit: int) -> str | None:
    """None if `body` nests at most `limit` levels; else the top-level key holding the deepest part ("" if none)."""
    if body.count(b"{") + body.count(b"[") <= limit:
        return None
    depth = 0
    key = ""
    expecting_key = False
    for token in _JSON_TOKEN.finditer(body):
        text = token.group()
        if text in (b"{", b"["):
            depth += 1
            if depth > limit:
                return key
            expecting_key = depth == 1 and text == b"{"
        elif text in (b"}", b"]"):
            depth -= 1
        elif text == b",":
            expecting_key = depth == 1
        elif expecting_key:
            key = _key_text(text)
            expecting_key = False
    return None


def _key_text(token: bytes) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return ""
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 connection (httptools) with deadlines for slow clients and caps on request heads.

    - The head must be complete `head_timeout_seconds` after its first byte, or after the connection opened
      for its first request: else 408 and the connection is closed (closed without an answer if nothing came).
    - A body must be complete `body_timeout_seconds` after its head, plus one second for every
      `body_min_bytes_per_second` bytes received: else 408 (or, once the app has answered, just closed). A
      body the app is not reading yet (uvicorn stops reading at 64 KiB, and asks a client that sent
      `Expect: 100-continue` for it only when the app first reads) is not the client's delay: its
      deadline starts again when the app reads.
    - More than `max_headers` headers, or a head over `max_head_bytes`, is answered 431 and closed before the
      application sees it.

    Between requests uvicorn's own keep-alive timeout applies. Pass the class as uvicorn's `http`; the class
    attributes are the limits (a subclass may change them, as the tests do).
    """

    head_timeout_seconds: ClassVar[float] = HEAD_TIMEOUT_SECONDS
    body_timeout_seconds: ClassVar[float] = BODY_TIMEOUT_SECONDS
    body_min_bytes_per_second: ClassVar[int] = BODY_MIN_BYTES_PER_SECOND
    max_headers: ClassVar[int] = MAX_HEADERS
    max_head_bytes: ClassVar[int] = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = False  # a request's head has begun and is not complete
        self._in_body = False  # a request's head is complete and its body is not
        self._head_bytes = 0  # request line and headers as parsed so far
        self._unparsed_head_bytes = 0  # bytes received while the head was incomplete, whatever the parser holds
        self._header_count = 0
        self._body_since = 0.0  # the loop time the body's deadline counts from
        self._awaiting_ask = False  # at the last deadline the desk had not yet sent `100 Continue`
        self._body_bytes = 0  # received since `_body_since`
        self._refusal: tuple[int, str] | None = None

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout_seconds)  # a connection that sends nothing is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # answered and closing: the rest is not read
        super().data_received(data)
        if self._in_head and self._refusal is None:
            # A header still incomplete is held by the parser whole; count what it may be holding.
            self._unparsed_head_bytes += len(data)
            if self._unparsed_head_bytes > self.max_head_bytes:
                self._refuse(431, self._head_too_large())

    # Parser callbacks: once a request is refused, the rest of what was received is parsed for nothing

    def on_message_begin(self) -> None:
        if self._refusal is not None:
            return
        super().on_message_begin()
        self._in_head, self._head_bytes, self._unparsed_head_bytes, self._header_count = True, 0, 0, 0
        if self._deadline is None:
            self._arm(self.head_timeout_seconds)

    def on_url(self, url: bytes) -> None:
        if self._refusal is None and self._head_fits(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refusal is not None:
            return
        self._header_count += 1
        if self._header_count > self.max_headers:
            self._refuse(431, f"a request may carry at most {self.max_headers} headers")
        elif self._head_fits(len(name) + len(value)):
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refusal is not None:
            return  # the application never sees it
        self._in_head = False
        self._disarm()
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # a WebSocket: its own protocol takes the connection over
        self._in_body, self._body_since, self._body_bytes = True, self.loop.time(), 0
        self._awaiting_ask = False
        self._arm(self.body_timeout_seconds)

    def on_body(self, body: bytes) -> None:
        if self._refusal is None:
            self._body_bytes += len(body)
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refusal is not None:
            return
        self._in_body = False
        self._disarm()
        super().on_message_complete()

    # Deadlines and refusals

    def _head_fits(self, size: int) -> bool:
        """Count `size` more bytes of head; False, and the request refused, once the head is over its cap."""
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            self._refuse(431, self._head_too_large())
            return False
        return True

    def _head_too_large(self) -> str:
        return f"the request line and headers must not exceed {self.max_head_bytes} bytes"

    def _arm(self, delay_seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay_seconds, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        waiting_for_the_desk = self.flow.read_paused or (self._in_body and self.cycle.waiting_for_100_continue)
        if waiting_for_the_desk:  # not reading yet, or not asked for the body yet: the client is not the one late
            self._body_since, self._body_bytes = self.loop.time(), 0
            self._awaiting_ask = self._in_body
            self._arm(self.body_timeout_seconds if self._in_body else self.head_timeout_seconds)
            return
        if self._in_body and self._awaiting_ask:  # asked since the last deadline: a whole window from now
            self._awaiting_ask = False
            self._body_since, self._body_bytes = self.loop.time(), 0
            self._arm(self.body_timeout_seconds)
            return
        if self._in_body:
            allowed = self.body_timeout_seconds + self._body_bytes / self.body_min_bytes_per_second
            remaining = self._body_since + allowed - self.loop.time()
            if remaining > 0:  # enough has come since to earn more time
                self._arm(remaining)
                return
            self._time_out(
                f"the request body did not arrive within {self.body_timeout_seconds:g} seconds and one more "
                f"for every {self.body_min_bytes_per_second} bytes received"
            )
        elif self._in_head:
            self._time_out(f"the request headers did not arrive within {self.head_timeout_seconds:g} seconds")
        else:
            self.transport.close()  # connected, and sent nothing

    def _time_out(self, detail: str) -> None:
        cycle = self.cycle
        if self._in_body and cycle is not None and cycle.response_started:
            self._refusal = (408, detail)
            self.logger.info("%s: closing the connection", detail)
            self.transport.close()
            return
        self._refuse(408, detail)

    def _refuse(self, status: int, detail: str) -> None:
        """Answer `status` with a problem document and close the connection; the app's own answer is dropped."""
        self._refusal = (status, detail)
        self._disarm()
        self.logger.info("answering %d and closing the connection: %s", status, detail)
        if self._in_body and self.cycle is not None:
            # As a lost connection does: the app's receive says so and what it sends goes nowhere.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        body = json.dumps(
            {"type": "about:blank", "title": http.HTTPStatus(status).phrase, "status": status, "detail": detail}
        ).encode()
        head = (
            f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode("ascii")
        # A pipelined request refused while the one before it is still being answered: no answer can go in between.
        if self._in_body or self.cycle is None or self.cycle.response_complete:
            self.transport.write(head + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # A lingering close: end our side and go on reading (and dropping) what the client still sends for a
        # moment, so that the kernel does not answer that unread data with a reset that destroys our answer.
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def _too_large(length: int | None, limit: int) -> str:
    size = f"{length} bytes" if length is not None else f"more than {limit} bytes"
    return f"the request body is {size}; the limit for this kind of request is {limit} bytes"


async def _refuse(send: Send, status: int, detail: str, field: str | None = None) -> None:
    title = {400: "Bad request", 413: "Content too large", 422: "Unprocessable content"}[status]
    document = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field is not None:
        document["field"] = field
    body = json.dumps(document).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
