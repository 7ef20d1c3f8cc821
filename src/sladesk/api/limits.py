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
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sladesk.services.attachments import MAX_ATTACHMENT_BYTES

MAX_NESTING = 32  # as `sladesk.api.schemas.MAX_NESTING`: levels of objects and arrays within one field
MAX_BODY_BYTES = 1024 * 1024  # JSON and YAML bodies: far above the longest field a ticket allows
MAX_UPLOAD_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024  # one attachment and its multipart framing


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
