"""What a delivery that did not happen reports, and whether trying again later can help."""

from __future__ import annotations

from datetime import timedelta

from sladesk.errors import SladeskError


class DeliveryFailed(SladeskError):  # noqa: N818 (the outbox contract names it after the outcome)
    """One message was not delivered; `retryable` says whether the same message may succeed later.

    Retryable: the receiver could not be reached, timed out, was overloaded (429, 5xx), or the desk's own
    channel settings are missing or wrong. Not retryable: the receiver refused this message (a 4xx
    other than 408 and 429, a refused recipient) or the message itself cannot be sent.
    `retry_after` is the wait a receiver asked for (`Retry-After`), if it asked.
    """

    def __init__(self, reason: str, retryable: bool, *, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"DeliveryFailed({self.reason!r}, retryable={self.retryable})"
