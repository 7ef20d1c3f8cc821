"""Channels delivering to real local servers: SMTP (aiosmtpd) and HTTP; nothing leaves 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sladesk.config import Settings
from sladesk.notify import MAX_ATTEMPTS, DeliveryFailed, backoff, deliver
from sladesk.notify.webhook import WebhookSignatureError, new_secret, sign, verify
from tests.support import ROOT
from tests.support.processes import free_port
from tests.support.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver

SECRET = "whsec_" + base64.b64encode(b"sladesk-test-signing-key-32bytes").decode()
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver(refuse=["nobody@customer.example"]) as receiver:
        yield receiver


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with http_receiver(secret=SECRET) as receiver:
        yield receiver


def mail_settings(smtp: SmtpReceiver, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "mail_from": "Acme Support <support@desk.example>",
        "delivery_timeout_seconds": 5,
    }
    return Settings(**{**values, **overrides})


def http_settings(timeout_s: float = 5) -> Settings:
    return Settings(delivery_timeout_seconds=timeout_s)


def reply_mail(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "to": ["Dana Customer <dana@customer.example>"],
        "subject": "[#42] Checkout fails with a 502",
        "text": "Hello Dana,\n\nWe have rolled back the release; checkout works again.\n\nSam\n",
        "message_id": "<ticket-42.event-7@desk.example>",
        "in_reply_to": "<CAF=abc123@mail.customer.example>",
        "references": ["<CAF=abc123@mail.customer.example>", "<ticket-42.event-3@desk.example>"],
        "headers": {"Auto-Submitted": "auto-replied"},
    }
    return {**payload, **overrides}


def webhook_message(url: str, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "url": url,
        "secret": SECRET,
        "event_type": "ticket.breached",
        "body": {"type": "ticket.breached", "data": {"ticket": 42, "metric": "first_response", "note": "café"}},
    }
    return {**payload, **overrides}


# Email


def test_email_arrives_threaded_with_its_message_id_and_idempotency_key(smtp: SmtpReceiver) -> None:
    deliver("email", reply_mail(), "outbox-7", mail_settings(smtp))

    [mail] = smtp.wait_for(1)
    assert mail.mail_from == "support@desk.example"
    assert mail.rcpt_tos == ("dana@customer.example",)
    assert mail.message["From"] == "Acme Support <support@desk.example>"
    assert mail.message["To"] == "Dana Customer <dana@customer.example>"
    assert mail.message["Subject"] == "[#42] Checkout fails with a 502"
    assert mail.message["Message-ID"] == "<ticket-42.event-7@desk.example>"
    assert mail.message["In-Reply-To"] == "<CAF=abc123@mail.customer.example>"
    # A long References is folded onto a second line; receivers read it as whitespace-separated ids.
    assert mail.message["References"].split() == [
        "<CAF=abc123@mail.customer.example>",
        "<ticket-42.event-3@desk.example>",
    ]
    assert mail.message["Auto-Submitted"] == "auto-replied"
    assert mail.message["X-Sladesk-Idempotency-Key"] == "outbox-7"
    assert mail.message["Date"] is not None
    assert mail.text == "Hello Dana,\n\nWe have rolled back the release; checkout works again.\n\nSam\n"
    assert smtp.by_idempotency_key() == {"outbox-7": 1}


def test_a_first_email_has_no_thread_headers(smtp: SmtpReceiver) -> None:
    deliver("email", reply_mail(in_reply_to=None, references=[], headers={}), "outbox-1", mail_settings(smtp))

    [mail] = smtp.wait_for(1)
    assert mail.message["In-Reply-To"] is None
    assert mail.message["References"] is None


def test_email_logs_in_when_a_username_is_set() -> None:
    with smtp_receiver(credentials=("desk", "s3cret")) as smtp:
        deliver("email", reply_mail(), "outbox-7", mail_settings(smtp, smtp_username="desk", smtp_password="s3cret"))
        [mail] = smtp.wait_for(1)
    assert mail.login == "desk"


def test_email_with_a_wrong_password_is_retryable() -> None:
    with smtp_receiver(credentials=("desk", "s3cret")) as smtp:
        settings = mail_settings(smtp, smtp_username="desk", smtp_password="guess")
        with pytest.raises(DeliveryFailed) as failed:
            deliver("email", reply_mail(), "outbox-7", settings)
    assert failed.value.retryable
    assert "refused the login" in failed.value.reason


def test_email_when_smtp_is_down_is_retryable() -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), mail_from="support@desk.example")

    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(), "outbox-7", settings)

    assert failed.value.retryable
    assert failed.value.reason.startswith("SMTP server 127.0.0.1:")


def test_email_without_an_smtp_host_waits_for_configuration() -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(), "outbox-7", Settings(mail_from="support@desk.example"))

    assert failed.value.retryable
    assert failed.value.reason == "SMTP is not configured (SLADESK_SMTP_HOST)"


def test_email_to_a_refused_recipient_is_not_retryable(smtp: SmtpReceiver) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(to=["nobody@customer.example"]), "outbox-7", mail_settings(smtp))

    assert not failed.value.retryable
    assert "nobody@customer.example: 550 5.1.1" in failed.value.reason
    assert smtp.messages == []


def test_email_refused_for_one_of_two_recipients_is_not_retried_into_a_duplicate(smtp: SmtpReceiver) -> None:
    to = ["dana@customer.example", "nobody@customer.example"]

    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(to=to), "outbox-7", mail_settings(smtp))

    assert not failed.value.retryable
    assert "accepted the message but refused nobody@customer.example" in failed.value.reason
    assert smtp.wait_for(1)[0].rcpt_tos == ("dana@customer.example",)


def test_starttls_against_a_server_without_it_is_a_retryable_configuration_problem(smtp: SmtpReceiver) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(), "outbox-7", mail_settings(smtp, smtp_security="starttls"))

    assert failed.value.retryable
    assert "SLADESK_SMTP_SECURITY" in failed.value.reason


def test_tls_against_a_plain_server_is_retryable(smtp: SmtpReceiver) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(), "outbox-7", mail_settings(smtp, smtp_security="tls"))

    assert failed.value.retryable
    assert "TLS failed" in failed.value.reason
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"subject": "Hi\r\nBcc: everyone@example.com"}, "cannot be written"),
        ({"message_id": "ticket-42@desk.example"}, "message_id"),
        ({"headers": {"Message-ID": "<other@desk.example>"}}, "the desk's own to set"),
        ({"to": ["not an address"]}, "not a list of mail addresses"),
        ({"to": []}, "to"),
    ],
)
def test_an_email_that_can_never_be_sent_is_not_retryable(
    smtp: SmtpReceiver, change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("email", reply_mail(**change), "outbox-7", mail_settings(smtp))

    assert not failed.value.retryable
    assert problem in failed.value.reason
    assert smtp.messages == []


# Webhooks


def test_webhook_arrives_signed_and_verifies(http: HttpReceiver) -> None:
    deliver("webhook", webhook_message(http.url("/hooks/sladesk")), "outbox-9", http_settings())

    [request] = http.wait_for(1)
    assert request.signature_error is None
    assert request.method == "POST"
    assert request.path == "/hooks/sladesk"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "outbox-9"
    assert request.headers["idempotency-key"] == "outbox-9"
    assert request.headers["x-sladesk-event-type"] == "ticket.breached"
    timestamp = int(request.headers["webhook-timestamp"])
    assert request.headers["webhook-signature"] == sign(SECRET, "outbox-9", timestamp, request.body)
    assert request.json() == {
        "type": "ticket.breached",
        "data": {"ticket": 42, "metric": "first_response", "note": "café"},
    }


def test_a_receiver_with_another_secret_refuses_the_webhook() -> None:
    with http_receiver(secret=new_secret()) as http:
        with pytest.raises(DeliveryFailed) as failed:
            deliver("webhook", webhook_message(http.url("/hooks")), "outbox-9", http_settings())
        [request] = http.wait_for(1)

    assert request.signature_error == "no v1 signature in webhook-signature matches the body"
    assert not failed.value.retryable
    assert "401" in failed.value.reason


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False), (410, False), (301, False)],
)
def test_webhook_answers_decide_whether_to_retry(http: HttpReceiver, status: int, retryable: bool) -> None:
    http.answer("/hooks", status, body=b'{"error": "nope"}', headers={"Location": "http://127.0.0.1:1/moved"})

    with pytest.raises(DeliveryFailed) as failed:
        deliver("webhook", webhook_message(http.url("/hooks")), "outbox-9", http_settings())

    assert failed.value.retryable is retryable
    assert str(status) in failed.value.reason
    assert len(http.requests) == 1


def test_a_refusal_quotes_the_receiver_but_not_the_url_path(http: HttpReceiver) -> None:
    http.answer("/services/T000/B000/XXXXSECRET", 400, body=b"invalid_payload")

    with pytest.raises(DeliveryFailed) as failed:
        deliver("chat", {"url": http.url("/services/T000/B000/XXXXSECRET"), "text": "hi"}, "k", http_settings())

    assert (
        failed.value.reason
        == f"chat http://127.0.0.1:{http.port} refused the message: 400 Bad Request: invalid_payload"
    )


def test_a_429_passes_on_the_wait_the_receiver_asked_for(http: HttpReceiver) -> None:
    http.answer("/hooks", 429, headers={"Retry-After": "120"})

    with pytest.raises(DeliveryFailed) as failed:
        deliver("webhook", webhook_message(http.url("/hooks")), "outbox-9", http_settings())

    assert failed.value.retryable
    assert failed.value.retry_after == timedelta(seconds=120)


def test_a_webhook_receiver_that_does_not_answer_in_time_is_retryable(http: HttpReceiver) -> None:
    http.answer("/slow", delay_s=3)

    with pytest.raises(DeliveryFailed) as failed:
        deliver("webhook", webhook_message(http.url("/slow")), "outbox-9", http_settings(timeout_s=0.3))

    assert failed.value.retryable
    assert "did not answer within 0.3 s" in failed.value.reason


def test_a_webhook_receiver_that_is_down_is_retryable() -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks"

    with pytest.raises(DeliveryFailed) as failed:
        deliver("webhook", webhook_message(url), "outbox-9", http_settings())

    assert failed.value.retryable
    assert "unreachable" in failed.value.reason


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://127.0.0.1/hooks", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://user:pass@127.0.0.1/hooks", "carries credentials"),
        ("http:///hooks", "no host"),
        ("https://127.0.0.1:99999/hooks", "not a TCP port"),
        ("not a url", "only http and https"),
    ],
)
def test_unsafe_urls_are_refused_without_a_request(url: str, problem: str) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("webhook", webhook_message(url), "outbox-9", http_settings())

    assert not failed.value.retryable
    assert problem in failed.value.reason
    assert "pass" not in failed.value.reason


# Chat and PagerDuty


def test_chat_posts_the_text_document_slack_and_mattermost_accept(http: HttpReceiver) -> None:
    text = "P1 #42 Checkout fails: first response due in 5 min"

    deliver("chat", {"url": http.url("/services/T000/B000/XXXX"), "text": text}, "outbox-11", http_settings())

    [request] = http.wait_for(1)
    assert request.json() == {"text": text}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "outbox-11"


def test_pagerduty_trigger_is_an_events_v2_document_with_its_dedup_key(http: HttpReceiver) -> None:
    http.answer("/v2/enqueue", 202, body=b'{"status":"success","dedup_key":"sladesk-ticket-42"}')
    payload = {
        "url": http.url("/v2/enqueue"),
        "routing_key": "R0UT1NGKEY",
        "event_action": "trigger",
        "dedup_key": "sladesk-ticket-42",
        "summary": "P1 #42 Checkout fails with a 502",
        "severity": "critical",
        "source": "sladesk",
        "custom_details": {"ticket": 42, "customer": "Alli"},
    }

    deliver("pagerduty", payload, "outbox-12", http_settings())

    [request] = http.wait_for(1)
    assert request.json() == {
        "routing_key": "R0UT1NGKEY",
        "event_action": "trigger",
        "dedup_key": "sladesk-ticket-42",
        "payload": {
            "summary": "P1 #42 Checkout fails with a 502",
            "source": "sladesk",
            "severity": "critical",
            "custom_details": {"ticket": 42, "customer": "Alli"},
        },
    }


def test_pagerduty_resolve_names_only_the_incident(http: HttpReceiver) -> None:
    payload = {
        "url": http.url("/v2/enqueue"),
        "routing_key": "R0UT1NGKEY",
        "event_action": "resolve",
        "dedup_key": "sladesk-ticket-42",
        "summary": None,
        "severity": None,
        "source": None,
        "custom_details": None,
    }

    deliver("pagerduty", payload, "outbox-13", http_settings())

    [request] = http.wait_for(1)
    assert request.json() == {"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "sladesk-ticket-42"}


def test_a_pagerduty_trigger_without_a_summary_is_not_retryable() -> None:
    payload = {"routing_key": "R", "event_action": "trigger", "dedup_key": "d", "severity": "error", "source": "s"}

    with pytest.raises(DeliveryFailed) as failed:
        deliver("pagerduty", payload, "outbox-13", http_settings())

    assert not failed.value.retryable
    assert "a trigger needs summary" in failed.value.reason


def test_an_unknown_kind_is_not_retryable() -> None:
    with pytest.raises(DeliveryFailed) as failed:
        deliver("fax", {}, "outbox-1", http_settings())

    assert not failed.value.retryable
    assert failed.value.reason == "no channel delivers outbox messages of kind 'fax'"


# Signatures


def test_sign_is_base64_hmac_sha256_of_id_timestamp_and_body() -> None:
    body = b'{"type":"ticket.breached","data":{"ticket":42}}'
    key = b"sladesk-test-signing-key-32bytes"
    expected = base64.b64encode(
        hmac.new(
            key,
            b'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.1772443800.{"type":"ticket.breached","data":{"ticket":42}}',
            hashlib.sha256,
        ).digest()
    ).decode()

    assert sign(SECRET, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1772443800, body) == "v1," + expected


def test_sign_matches_a_vector_worked_out_by_hand() -> None:
    # HMAC-SHA256 with key bytes 0x00..0x1f over "id.1.{}" , computed once with hmac and written down.
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    signed = hmac.new(bytes(range(32)), b"id.1.{}", hashlib.sha256).digest()

    assert sign(secret, "id", 1, "{}") == "v1," + base64.b64encode(signed).decode()


def test_the_signed_request_in_the_documentation_verifies() -> None:
    document = (ROOT / "docs" / "notifications.md").read_text()
    request = document.split("```http\n", 1)[1].split("```", 1)[0]
    head, body = request.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert secret in document

    verify(secret, headers, body.strip().encode(), now=datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC))


def headers_for(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(secret, msg_id, timestamp, body),
    }


def test_verify_accepts_a_fresh_signature_among_several() -> None:
    body = json.dumps({"ticket": 42}).encode()
    headers = headers_for(SECRET, "outbox-9", int(NOW.timestamp()), body)
    headers["Webhook-Signature"] = "v1,b2xkLXNpZ25hdHVyZQ== " + headers["Webhook-Signature"]

    verify(SECRET, headers, body, now=NOW + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda h, b: (h, b + b" "), "no v1 signature"),
        (lambda h, b: ({**h, "Webhook-Id": "outbox-10"}, b), "no v1 signature"),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "Webhook-Signature"}, b),
            "missing header webhook-signature",
        ),
        (lambda h, b: ({**h, "Webhook-Timestamp": "soon"}, b), "not Unix seconds"),
        (lambda h, b: ({**h, "Webhook-Timestamp": str(int(NOW.timestamp()) - 600)}, b), "past the tolerance"),
    ],
)
def test_verify_refuses_a_tampered_or_stale_request(tamper: Any, problem: str) -> None:
    body = b'{"ticket":42}'
    headers, body = tamper(headers_for(SECRET, "outbox-9", int(NOW.timestamp()), body), body)

    with pytest.raises(WebhookSignatureError) as refused:
        verify(SECRET, headers, body, now=NOW)

    assert problem in str(refused.value)


def test_new_secrets_are_prefixed_random_32_bytes() -> None:
    first, second = new_secret(), new_secret()

    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


# Retrying


def test_backoff_doubles_from_30_seconds_up_to_an_hour_with_up_to_half_taken_off() -> None:
    ceilings = [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    rng = random.Random(7)

    for attempts, ceiling in enumerate(ceilings, start=1):
        for _ in range(20):
            wait = backoff(attempts, rng=rng).total_seconds()
            assert ceiling / 2 <= wait <= ceiling, (attempts, wait)
    assert MAX_ATTEMPTS == 10
