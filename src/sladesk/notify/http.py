"""One HTTP POST to a receiver, with every way it can go wrong turned into a `DeliveryFailed`."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache

import httpx2

from sladesk.notify.failure import DeliveryFailed

USER_AGENT = "sladesk-notify/1"
EXCERPT_BYTES = 300
"""How much of a refusing receiver's answer a failure quotes: enough for its error message, never a page."""
DRAIN_BYTES = 64 * 1024  # how much of a success's answer is read to keep its connection for the next post


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every delivery: building one loads the trusted certificates (tens of ms)."""
    return httpx2.create_ssl_context()


def checked_url(url: str) -> httpx2.URL:
    """`url` if the desk may post to it: http or https, a host, and no credentials inside it."""
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError) as error:
        raise DeliveryFailed(f"not a URL the desk can post to ({error})", retryable=False) from None
    if parsed.scheme not in ("http", "https"):
        scheme = f"{parsed.scheme}:" if parsed.scheme else "a URL without a scheme"
        raise DeliveryFailed(f"only http and https URLs are delivered to, not {scheme}", retryable=False)
    if not parsed.host:
        raise DeliveryFailed("the URL has no host", retryable=False)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise DeliveryFailed(f"the URL's port {parsed.port} is not a TCP port", retryable=False)
    if parsed.userinfo:
        raise DeliveryFailed(f"the URL for {origin(parsed)} carries credentials; put secrets in settings", False)
    return parsed


def origin(url: httpx2.URL) -> str:
    """Scheme, host and port of `url`: what failures name, since a chat webhook's path is its secret."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


def client(timeout_s: float) -> httpx2.Client:
    """An HTTP client for deliveries: `timeout_s` per step, no redirects followed, verified TLS.

    One client serves a whole delivery pass, so posts to the same receiver reuse its connection.
    """
    return httpx2.Client(
        timeout=timeout_s, follow_redirects=False, verify=tls_context(), headers={"User-Agent": USER_AGENT}
    )


def post(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    *,
    channel: str,
    timeout_s: float,
    through: httpx2.Client | None = None,
) -> httpx2.Response:
    """POST `content` to `url` and return the 2xx answer; anything else raises `DeliveryFailed`.

    `timeout_s` bounds each step (connecting, sending, each wait for the answer). Redirects are not
    followed: a receiver that moved is a URL to update, and following it would repost the body elsewhere.
    `through` is the pass's client (made by `client`); without one, a client is made for this post alone.
    """
    target = checked_url(url)
    where = f"{channel} {origin(target)}"
    try:
        with contextlib.ExitStack() as stack:
            poster = through if through is not None else stack.enter_context(client(timeout_s))
            response = stack.enter_context(poster.stream("POST", target, content=content, headers=dict(headers)))
            excerpt = _excerpt(response)
    except httpx2.TimeoutException:
        raise DeliveryFailed(f"{where} did not answer within {timeout_s:g} s", retryable=True) from None
    except httpx2.LocalProtocolError as error:
        raise DeliveryFailed(f"{where}: the request cannot be sent ({error})", retryable=False) from None
    except httpx2.HTTPError as error:
        raise DeliveryFailed(f"{where} unreachable: {_describe(error)}", retryable=True) from None
    except httpx2.InvalidURL as error:
        raise DeliveryFailed(f"{where}: {error}", retryable=False) from None
    if response.is_success:
        return response
    raise _refusal(where, response, excerpt)


def _refusal(where: str, response: httpx2.Response, excerpt: str) -> DeliveryFailed:
    status = f"{response.status_code} {response.reason_phrase}".strip()
    said = f": {excerpt}" if excerpt else ""
    if response.status_code in (408, 429) or response.status_code >= 500:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        return DeliveryFailed(f"{where} answered {status}{said}", retryable=True, retry_after=retry_after)
    if response.is_redirect:
        return DeliveryFailed(f"{where} answered {status} (a redirect); set the URL it points to", retryable=False)
    return DeliveryFailed(f"{where} refused the message: {status}{said}", retryable=False)


def _excerpt(response: httpx2.Response) -> str:
    """The start of a refusing answer's body, on one line; nothing for a success, whose body nobody reads.

    A success's short body is read to its end all the same, so the connection can carry the next post.
    """
    if response.is_success:
        read = 0
        for chunk in response.iter_bytes():
            read += len(chunk)
            if read > DRAIN_BYTES:
                break  # a long answer: the connection closes rather than read it all
        return ""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= EXCERPT_BYTES:
            break
    text = head[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return " ".join(text.split())


def _retry_after(value: str | None) -> timedelta | None:
    """The wait a `Retry-After` header asks for: delay seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - datetime.now(UTC), timedelta(0))


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
