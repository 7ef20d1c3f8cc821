"""Inbound mail against real local servers: smtplib to the desk's aiosmtpd receiver, and the IMAP poller
against the small IMAP server of `tests.support.imap_server`, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import smtplib
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from sladesk.mail import latest_reply, parse_message, ticket_reference
from sladesk.mail.delivery import TRANSIENT_ERRORS
from sladesk.mail.imap import poll_once
from sladesk.mail.parse import MalformedMessageError
from sladesk.mail.settings import MailboxSettings
from sladesk.mail.smtp import DeskHandler, receiver
from sladesk.services import Role
from sladesk.services import tickets as ticket_services
from sladesk.services.policies import upload_policy
from sladesk.store import make_engine, make_sessions, reading
from sladesk.store.tables import Attachment, Comment, InboundMessage, OutboxMessage, Ticket, TicketEvent
from tests.support import ROOT
from tests.support.desk import START
from tests.support.imap_server import ImapServer
from tests.support.processes import env, executable, free_port, run
from tests.support.units import committed

DESK = "support@desk.example"
DOMAIN = "desk.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

change_status = committed(ticket_services.change_status)
upload = committed(upload_policy)


@pytest.fixture
def desk(desk):
    """Acme (Alleo's policy) with two customers, Globex with one, and an agent."""
    acme = desk.organisation("Acme", "alleo")
    desk.user("customer", Role.CUSTOMER, acme)
    desk.user("colleague", Role.CUSTOMER, acme)
    desk.user("stranger", Role.CUSTOMER, desk.organisation("Globex", "alleo"))
    desk.user("agent", Role.AGENT)
    return desk


@pytest.fixture
def smtp(desk) -> Iterator[tuple[str, int]]:
    """The desk's SMTP receiver on a free local port, at the desk's clock."""
    handler = DeskHandler(desk.sessions, [DESK], mail_domain=DOMAIN, attachments_dir=desk.attachments, clock=desk.clock)
    controller = receiver(handler, "127.0.0.1", free_port())
    controller.start()
    try:
        yield "127.0.0.1", controller.port
    finally:
        controller.stop()


def mail(
    text: str = "The CSV export stops at 1,000 rows.",
    *,
    sender: str = "customer@example.com",
    subject: str = "Export fails",
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Someone <{sender}>"
    message["To"] = f"Support <{DESK}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(desk_start())
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def desk_start() -> datetime:
    return datetime.fromisoformat(START)


def send(server: tuple[str, int], message: EmailMessage, *, envelope_from: str | None = None) -> None:
    with smtplib.SMTP(*server, timeout=30) as client:
        client.send_message(message, from_addr=envelope_from)


def send_raw(server: tuple[str, int], *messages: bytes) -> None:
    """Each of `messages` as it is, from customer@example.com to the desk."""
    host, port = server
    with smtplib.SMTP(host, port, timeout=30) as client:
        for raw in messages:
            client.sendmail("customer@example.com", [DESK], raw)


def inbound(sessions: sessionmaker) -> list[InboundMessage]:
    with reading(sessions) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def rows(sessions: sessionmaker, table) -> list:
    with reading(sessions) as session:
        return list(session.scalars(select(table).order_by(table.id)))


# --- opening and replying ---------------------------------------------------------------------------------


def test_a_customers_mail_opens_a_ticket_of_their_organisation_at_the_least_severe_level(desk, smtp):
    send(smtp, mail("The CSV export stops at 1,000 rows.\n\n-- \nCustomer, Acme\n"))
    [ticket] = rows(desk.sessions, Ticket)
    assert (ticket.subject, ticket.organisation_id, ticket.requester_id) == (
        "Export fails",
        desk.ids["Acme"],
        desk.ids["customer"],
    )
    assert ticket.description == "The CSV export stops at 1,000 rows.\n\n-- \nCustomer, Acme"
    assert (ticket.severity_rank, ticket.requested_severity_rank, ticket.intake) == (4, None, {})
    assert ticket.opened_at == desk.clock()
    [received] = inbound(desk.sessions)
    assert (received.outcome, received.ticket_id, received.source, received.sender) == (
        "opened",
        ticket.id,
        "smtp",
        "customer@example.com",
    )
    assert [e.type for e in rows(desk.sessions, TicketEvent)] == ["opened"]


def test_a_reply_naming_the_ticket_in_its_subject_is_a_public_reply_without_its_quoted_history(desk, smtp):
    send(smtp, mail())
    desk.clock.advance(minutes=30)
    send(
        smtp,
        mail(
            "It still fails after the update:\n"
            "    Error 500 at row 1001\n"
            "\n"
            "On Mon, Dec 7, 2026 at 9:10 AM Support <support@desk.example> wrote:\n"
            "> Please try again after the update.\n"
            "> It should be fixed.\n"
            "\n"
            "-- \n"
            "Customer, Acme\n",
            subject="Re: [#1] Export fails",
        ),
    )
    [comment] = rows(desk.sessions, Comment)
    assert comment.body == "It still fails after the update:\n    Error 500 at row 1001"
    assert (comment.ticket_id, comment.author_id, comment.public) == (1, desk.ids["customer"], True)
    assert [e.type for e in rows(desk.sessions, TicketEvent)] == ["opened", "reply"]
    assert [(m.outcome, m.ticket_id) for m in inbound(desk.sessions)] == [("opened", 1), ("replied", 1)]
    assert len(rows(desk.sessions, Ticket)) == 1


def test_an_outlook_reply_found_by_in_reply_to_alone_keeps_only_the_new_text(desk, smtp):
    send(smtp, mail())
    send(
        smtp,
        mail(
            "Here is the export log.\n\n"
            "-----Original Message-----\n"
            "From: Support <support@desk.example>\n"
            "Sent: Monday, December 7, 2026 9:10 AM\n"
            "To: Customer\n"
            "Subject: Export fails\n\n"
            "Could you send the log?\n",
            subject="RE: Export fails",
            headers={"In-Reply-To": f"<ticket-1-7@{DOMAIN}>"},
        ),
    )
    [comment] = rows(desk.sessions, Comment)
    assert (comment.ticket_id, comment.body) == (1, "Here is the export log.")


def test_a_reply_found_by_its_references_alone(desk, smtp):
    send(smtp, mail())
    send(
        smtp,
        mail(
            "Thanks, that works now.",
            subject="Export fails",
            headers={"References": f"<other@example.com> <ticket-1-3@{DOMAIN}>"},
        ),
    )
    assert [(m.outcome, m.ticket_id) for m in inbound(desk.sessions)] == [("opened", 1), ("replied", 1)]


def test_a_message_id_of_another_domain_is_not_a_ticket_reference():
    message = parse_message(
        mail("Hello", subject="Hello", headers={"In-Reply-To": "<ticket-1-3@elsewhere.example>"}).as_bytes()
    )
    assert ticket_reference(message, domain=DOMAIN) is None
    assert ticket_reference(message) == 1


def test_a_colleague_may_reply_on_their_organisations_ticket_but_another_organisation_opens_its_own(desk, smtp):
    send(smtp, mail())
    send(smtp, mail("Same here.", sender="colleague@example.com", subject="Re: [#1] Export fails"))
    send(smtp, mail("Let me in.", sender="stranger@example.com", subject="Re: [#1] Export fails"))
    received = inbound(desk.sessions)
    assert [(m.outcome, m.ticket_id) for m in received] == [("opened", 1), ("replied", 1), ("opened", 2)]
    assert received[2].reason == "the mail names ticket #1, which is not one of the sender's"
    assert rows(desk.sessions, Ticket)[1].organisation_id == desk.ids["Globex"]
    assert [c.author_id for c in rows(desk.sessions, Comment)] == [desk.ids["colleague"]]


def test_an_agents_mail_reply_is_a_public_reply_by_the_agent(desk, smtp):
    send(smtp, mail())
    send(smtp, mail("We are on it.", sender="agent@example.com", subject="Re: [#1] Export fails"))
    [comment] = rows(desk.sessions, Comment)
    assert (comment.author_id, comment.public, comment.body) == (desk.ids["agent"], True, "We are on it.")


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(desk, smtp):
    send(smtp, mail())
    change_status(desk.sessions, desk.actors["agent"], 1, "closed", now=desk.clock.advance(hours=1))
    send(smtp, mail("It is back.", subject="Re: [#1] Export fails"))
    follow_up = rows(desk.sessions, Ticket)[1]
    assert (follow_up.follow_up_of_id, follow_up.description) == (1, "It is back.")
    assert inbound(desk.sessions)[1].reason == "ticket #1 is closed: opened a follow-up"


def test_required_intake_questions_do_not_stop_a_mail_and_are_noted(desk, smtp):
    desk.user("admin", Role.ADMIN)
    source = (ROOT / "src/sladesk/policy/builtin/alleo.yaml").read_text()
    required = source.replace("version: 2\n", "version: 3\n", 1).replace(
        "type: long_text, required: false", "type: long_text, required: true", 1
    )
    upload(desk.sessions, desk.actors["admin"], required, now=desk.clock())
    send(smtp, mail())
    [ticket] = rows(desk.sessions, Ticket)
    assert (ticket.policy_version, ticket.intake) == (3, {})
    assert inbound(desk.sessions)[0].reason == "not answered by mail: Steps to reproduce the issue"


def test_a_mail_the_policy_cannot_take_is_quarantined_with_the_reason_and_leaves_no_ticket(desk, smtp):
    desk.user("admin", Role.ADMIN)
    source = (ROOT / "src/sladesk/policy/builtin/alleo.yaml").read_text()
    files_required = source.replace("version: 2\n", "version: 3\n", 1).replace(
        "type: attachment, required: false", "type: attachment, required: true", 1
    )
    upload(desk.sessions, desk.actors["admin"], files_required, now=desk.clock())
    send(smtp, mail())
    [received] = inbound(desk.sessions)
    assert (received.outcome, received.ticket_id) == ("quarantined", None)
    assert received.reason == "could not be filed: intake.logs: Logs is required"
    assert rows(desk.sessions, Ticket) == []
    assert rows(desk.sessions, TicketEvent) == []


# --- attachments ------------------------------------------------------------------------------------------


def test_an_attachment_is_kept_and_a_refused_one_is_noted_without_losing_the_mail(desk, smtp):
    send(
        smtp,
        mail(
            "Screenshot attached.",
            attachments=(("screen.png", "image/png", PNG), ("tool.exe", "application/x-msdownload", b"MZ\x90\x00")),
        ),
    )
    [ticket] = rows(desk.sessions, Ticket)
    [attachment] = rows(desk.sessions, Attachment)
    digest = hashlib.sha256(PNG).hexdigest()
    assert (attachment.ticket_id, attachment.filename, attachment.sha256) == (ticket.id, "screen.png", digest)
    assert (desk.attachments / digest[:2] / digest).read_bytes() == PNG
    [received] = inbound(desk.sessions)
    assert received.outcome == "opened"
    assert "attachment 'tool.exe' refused: file: content type 'application/x-msdownload' is not accepted" in (
        received.reason or ""
    )


def test_a_reply_with_only_an_attachment_adds_the_file(desk, smtp):
    send(smtp, mail())
    send(smtp, mail("", subject="Re: [#1] Export fails", attachments=(("log.txt", "text/plain", b"row 1001"),)))
    assert [e.type for e in rows(desk.sessions, TicketEvent)] == ["opened", "attachment"]
    assert rows(desk.sessions, Comment) == []


# --- refusals, loops and duplicates -----------------------------------------------------------------------


def test_an_unknown_sender_gets_exactly_one_polite_reply_a_day_and_no_ticket(desk, smtp):
    for _ in range(3):
        send(smtp, mail("Hello?", sender="someone@elsewhere.example", subject="Question"))
        desk.clock.advance(hours=1)
    [reply] = rows(desk.sessions, OutboxMessage)
    assert reply.kind == "email"
    assert reply.payload["to"] == ["someone@elsewhere.example"]
    assert reply.payload["subject"] == "Re: Question"
    assert reply.payload["headers"]["Auto-Submitted"] == "auto-replied"
    assert reply.payload["in_reply_to"] == inbound(desk.sessions)[0].message_id
    assert [(m.outcome, m.answered) for m in inbound(desk.sessions)] == [
        ("refused", True),
        ("refused", False),
        ("refused", False),
    ]
    desk.clock.advance(hours=22)  # a day after the first answer
    send(smtp, mail("Still there?", sender="someone@elsewhere.example", subject="Question"))
    assert len(rows(desk.sessions, OutboxMessage)) == 2
    assert rows(desk.sessions, Ticket) == []


def test_the_polite_reply_threads_only_under_a_well_formed_message_id(desk, smtp):
    message = mail("Hello?", sender="someone@elsewhere.example", subject="Question")
    message.replace_header("Message-ID", "not an id")
    send(smtp, message)
    [reply] = rows(desk.sessions, OutboxMessage)
    assert (reply.payload["in_reply_to"], reply.payload["references"]) == (None, [])
    assert reply.payload["message_id"] == f"<inbound-1-refused@{DOMAIN}>"


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "someone@elsewhere.example", "Auto-Submitted: auto-replied"),
        ({"Precedence": "bulk"}, "someone@elsewhere.example", "Precedence: bulk"),
        ({"X-Autoreply": "yes"}, "customer@example.com", "X-Autoreply header"),
        ({}, "MAILER-DAEMON@elsewhere.example", "sent by a mailer daemon"),
        ({}, DESK, "sent by the desk itself"),
    ],
)
def test_automatic_mail_is_ignored_and_never_answered(desk, smtp, headers, sender, reason):
    send(smtp, mail("I am out of office.", sender=sender, subject="Out of office", headers=headers))
    [received] = inbound(desk.sessions)
    assert received.outcome == "ignored"
    assert reason in (received.reason or "")
    assert rows(desk.sessions, Ticket) == []
    assert rows(desk.sessions, OutboxMessage) == []


def test_a_bounce_with_an_empty_envelope_sender_is_ignored(desk, smtp):
    send(smtp, mail("Delivery failed.", sender="someone@elsewhere.example"), envelope_from="")
    [received] = inbound(desk.sessions)
    assert (received.outcome, received.reason) == ("ignored", "sent automatically: an empty return path (a bounce)")
    assert rows(desk.sessions, OutboxMessage) == []


def test_a_duplicate_message_id_is_received_once(desk, smtp):
    message = mail()
    send(smtp, message)
    send(smtp, message)
    assert len(rows(desk.sessions, Ticket)) == 1
    assert len(inbound(desk.sessions)) == 1


def test_mail_for_another_address_is_refused_at_the_door(desk, smtp):
    message = mail()
    del message["To"]
    message["To"] = "sales@desk.example"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtp, message)
    assert inbound(desk.sessions) == []


# --- quarantine and failures ------------------------------------------------------------------------------

BROKEN = (
    b"From: customer@example.com\r\n"
    b"Subject: Broken\r\n"
    b"Message-ID: <broken@example.com>\r\n"
    b'Content-Type: multipart/mixed; boundary="missing"\r\n'
    b"\r\n"
    b"no parts at all\r\n"
)


def test_a_malformed_message_is_kept_whole_in_the_quarantine(desk, smtp):
    send_raw(smtp, BROKEN, b"not a mail at all\r\n")
    received = inbound(desk.sessions)
    assert [(m.outcome, m.sender, m.message_id) for m in received] == [
        ("quarantined", "customer@example.com", "<broken@example.com>"),
        ("quarantined", None, None),
    ]
    assert received[0].reason == "its multipart structure is broken (StartBoundaryNotFoundDefect)"
    assert received[0].raw == b"Return-Path: <customer@example.com>\r\n" + BROKEN
    assert received[1].reason == "the message does not start with mail headers"
    assert rows(desk.sessions, Ticket) == []


@pytest.mark.cli
def test_an_admin_lists_the_quarantine_and_reads_a_message(desk, smtp, engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the command reads the test's database file; one backend is enough")
    send_raw(smtp, BROKEN)
    url = engine.url.render_as_string(hide_password=False)
    listed = run("mail", "quarantine", "--database-url", url)
    assert listed.code == 0, listed.stderr
    assert "customer@example.com" in listed.stdout and "multipart structure is broken" in listed.stdout
    shown = run("mail", "quarantine", "--show", "1", "--database-url", url)
    assert shown.stdout.replace("\n", "\r\n").endswith(BROKEN.decode())


@pytest.mark.cli
def test_sladesk_mail_serve_receives_mail_until_stopped(tmp_path):
    database = tmp_path / "desk.db"
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                executable(),
                "mail",
                "serve",
                "--port",
                str(port),
                "--address",
                DESK,
                "--database-url",
                f"sqlite:///{database}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env(),
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    send(("127.0.0.1", port), mail("Hello?", sender="someone@elsewhere.example"))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "sladesk mail serve did not answer within 30 s"
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert server.returncode == 0, log.read_text()
    assert f"Receiving mail for {DESK} at 127.0.0.1:{port}" in log.read_text()
    sessions = make_sessions(engine := make_engine(f"sqlite:///{database}"))
    try:
        assert [(m.outcome, m.answered) for m in inbound(sessions)] == [("refused", True)]
    finally:
        engine.dispose()


def test_a_database_that_cannot_store_the_mail_makes_the_sender_retry(tmp_path):
    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'sladesk.db'}")
    controller = receiver(DeskHandler(make_sessions(broken), [DESK]), "127.0.0.1", free_port())
    controller.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(("127.0.0.1", controller.port), mail())
        assert refused.value.smtp_code == 451
    finally:
        controller.stop()
        broken.dispose()


# --- IMAP -------------------------------------------------------------------------------------------------


def imap_settings(server: ImapServer) -> MailboxSettings:
    return MailboxSettings(
        imap_host="127.0.0.1",
        imap_port=server.port,
        imap_security="none",
        imap_username="desk",
        imap_password="a secret",
        mail_from=f"Support <{DESK}>",
        mail_domain=DOMAIN,
    )


def test_the_imap_poll_files_unseen_mail_and_marks_it_seen_after_commit(desk):
    with ImapServer(users={"desk": "a secret"}) as server:
        first = server.deliver(mail().as_bytes())
        read = server.deliver(mail("Old news.").as_bytes(), flags={"\\Seen"})
        reply = server.deliver(mail("More detail.", subject="Re: [#1] Export fails").as_bytes())
        assert poll_once(desk.sessions, imap_settings(server), desk.clock(), attachments_dir=desk.attachments) == 2
        assert [(m.outcome, m.source, m.ticket_id) for m in inbound(desk.sessions)] == [
            ("opened", "imap", 1),
            ("replied", "imap", 1),
        ]
        assert all(server.flags(uid) == {"\\Seen"} for uid in (first, read, reply))
        assert not any("RFC822" in command or "BODY[]" in command for command in server.commands)
        assert poll_once(desk.sessions, imap_settings(server), desk.clock()) == 0


def test_an_imap_message_stays_unseen_when_the_database_cannot_store_it(tmp_path):
    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'sladesk.db'}")
    try:
        with ImapServer(users={"desk": "a secret"}) as server:
            uid = server.deliver(mail().as_bytes())
            with pytest.raises(TRANSIENT_ERRORS) as failed:
                poll_once(make_sessions(broken), imap_settings(server), desk_start())
            assert "unable to open database file" in str(failed.value)
            assert server.flags(uid) == set()
    finally:
        broken.dispose()


# --- reading mail (no database) ---------------------------------------------------------------------------


def test_an_html_only_mail_is_read_as_text_with_its_quotes_dropped_from_a_reply():
    message = EmailMessage()
    message["From"] = "customer@example.com"
    message["Subject"] = "Re: [#4] Export"
    message.set_content(
        "<html><head><style>p {color: red}</style></head><body><p>It works &amp; thanks.</p>"
        "<div>On Monday, Support wrote:</div><blockquote><p>Try again.</p></blockquote></body></html>",
        subtype="html",
    )
    parsed = parse_message(message.as_bytes())
    assert parsed.text == "It works & thanks.\n\nOn Monday, Support wrote:\n\n> Try again.\n"
    assert latest_reply(parsed.text) == "It works & thanks."
    assert ticket_reference(parsed) == 4


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "the message is empty"),
        (b"Subject: no sender\r\n\r\nbody\r\n", "it names no sender (no From address)"),
        (b"From: nobody\r\nSubject: x\r\n\r\nbody\r\n", "its From address 'nobody' is not a full address"),
    ],
)
def test_a_message_that_is_not_a_readable_mail_says_why(raw, reason):
    with pytest.raises(MalformedMessageError) as error:
        parse_message(raw)
    assert error.value.reason == reason


def test_a_very_long_line_is_kept_and_read_in_linear_time():
    log_line = "E" * 100_000
    assert latest_reply(f"Log:\n{log_line}\n\nOn Monday, Support wrote:\n> Send the log.") == f"Log:\n{log_line}"


MANGLINGS = (
    b"\r\n",
    b";",
    b'"',
    b"*0*=",
    b"--",
    b"<",
    b"\x00",
    b"=?utf-8?q?",
    b"filename*=utf-8''%ff",
    b"charset=utf-16",
)


def test_a_mangled_mail_is_read_or_called_malformed_never_a_crash():
    message = mail("Hello\nOn Monday, Support wrote:\n> Hi", subject="Re: [#1] x")
    message.add_alternative("<p>Hello</p><blockquote>Hi</blockquote>", subtype="html")
    message.add_attachment(PNG, maintype="image", subtype="png", filename="a.png")
    original = message.as_bytes()
    mangle = random.Random(7)
    for _ in range(500):
        raw = bytearray(original)
        for _ in range(mangle.randint(1, 8)):
            at = mangle.randrange(len(raw))
            choice = mangle.random()
            if choice < 0.4:
                raw[at] = mangle.randrange(256)
            elif choice < 0.7:
                del raw[at : at + mangle.randint(1, 20)]
            else:
                raw[at:at] = mangle.choice(MANGLINGS)
        with contextlib.suppress(MalformedMessageError):
            latest_reply(parse_message(bytes(raw)).text)


def test_an_auto_submitted_no_mail_was_written_by_a_person():
    message = parse_message(mail(headers={"Auto-Submitted": "no"}).as_bytes())
    assert not message.automatic
