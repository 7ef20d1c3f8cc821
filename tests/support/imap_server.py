"""A small IMAP4rev1 server for the tests: one mailbox folder held in memory, on a real local port.

It speaks what an IMAP client needs to poll a mailbox (RFC 3501): CAPABILITY, NOOP, LOGIN, SELECT, EXAMINE,
SEARCH (ALL, UNSEEN, SEEN), FETCH (BODY.PEEK[], BODY[], RFC822, FLAGS, UID), STORE (+FLAGS, -FLAGS, FLAGS,
.SILENT), each also as UID commands, CLOSE and LOGOUT. `BODY[]` and `RFC822` mark the message \\Seen,
`BODY.PEEK[]` does not, as a real server does, so a test sees what a client really asked for.

    with ImapServer(users={"desk": "secret"}) as server:
        server.deliver(raw_bytes)                # into INBOX, unseen
        ... poll 127.0.0.1:server.port ...
        server.flags(1)                          # {"\\Seen"} once the client marked it
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from types import TracebackType

SEEN = "\\Seen"
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\((?:[^()]|\([^()]*\))*\))|(\S+)')


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class Mailbox:
    """One folder's messages, shared by the server's connections."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.messages: list[StoredMessage] = []
        self.next_uid = 1
        self.lock = threading.Lock()


class ImapServer:
    """The server on 127.0.0.1 at a free port, serving in a thread from `start()` (or `with`) to `stop()`."""

    def __init__(self, users: dict[str, str], folder: str = "INBOX") -> None:
        self.users = users
        self.mailbox = Mailbox(folder)
        self.commands: list[str] = []  # every command line received, for tests to inspect
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                _Connection(outer, self).serve()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ImapServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ImapServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def deliver(self, raw: bytes, *, flags: set[str] | None = None) -> int:
        """Put a message in the folder (unseen unless `flags` say otherwise); its UID."""
        with self.mailbox.lock:
            uid = self.mailbox.next_uid
            self.mailbox.next_uid += 1
            self.mailbox.messages.append(StoredMessage(uid, raw, set(flags or ())))
            return uid

    def flags(self, uid: int) -> set[str]:
        with self.mailbox.lock:
            return set(next(m for m in self.mailbox.messages if m.uid == uid).flags)


class _Connection:
    """One client's conversation: not authenticated, authenticated, then a folder selected."""

    def __init__(self, server: ImapServer, handler: socketserver.StreamRequestHandler) -> None:
        self.server = server
        self.mailbox = server.mailbox
        self.rfile = handler.rfile
        self.wfile = handler.wfile
        self.user: str | None = None
        self.selected = False
        self.read_only = False

    def send(self, data: bytes | str) -> None:
        self.wfile.write(data.encode() if isinstance(data, str) else data)

    def serve(self) -> None:
        self.send("* OK [CAPABILITY IMAP4rev1] sladesk test IMAP server ready\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            self.server.commands.append(text)
            tag, _, rest = text.partition(" ")
            if not rest:
                self.send(f"{tag or '*'} BAD empty command\r\n")
                continue
            command, _, arguments = rest.partition(" ")
            try:
                if not self.dispatch(tag, command.upper(), arguments):
                    return
            except (ValueError, IndexError, StopIteration) as error:
                self.send(f"{tag} BAD {error}\r\n")
            self.wfile.flush()

    def dispatch(self, tag: str, command: str, arguments: str) -> bool:
        """Answer one command; False once the client logged out."""
        by_uid = command == "UID"
        if by_uid:
            command, _, arguments = arguments.partition(" ")
            command = command.upper()
        if command == "CAPABILITY":
            self.send("* CAPABILITY IMAP4rev1\r\n")
        elif command == "NOOP":
            pass
        elif command == "LOGOUT":
            self.send(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
            self.wfile.flush()
            return False
        elif command == "LOGIN":
            user, password = _tokens(arguments)[:2]
            if self.server.users.get(user) != password:
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials\r\n")
                return True
            self.user = user
        elif self.user is None:
            self.send(f"{tag} NO log in first\r\n")
            return True
        elif command in ("SELECT", "EXAMINE"):
            return self.select(tag, command, arguments)
        elif not self.selected:
            self.send(f"{tag} NO select a folder first\r\n")
            return True
        elif command == "SEARCH":
            self.search(arguments, by_uid)
        elif command == "FETCH":
            self.fetch(arguments, by_uid)
        elif command == "STORE":
            self.store(arguments, by_uid)
        elif command == "CLOSE":
            self.selected = False
        else:
            self.send(f"{tag} BAD unknown command {command}\r\n")
            return True
        self.send(f"{tag} OK {'UID ' if by_uid else ''}{command} completed\r\n")
        return True

    def select(self, tag: str, command: str, arguments: str) -> bool:
        folder = _tokens(arguments)[0]
        if folder.upper() != self.mailbox.folder.upper():
            self.send(f"{tag} NO [NONEXISTENT] no folder {folder}\r\n")
            return True
        self.selected, self.read_only = True, command == "EXAMINE"
        with self.mailbox.lock:
            count, next_uid = len(self.mailbox.messages), self.mailbox.next_uid
        self.send(
            f"* {count} EXISTS\r\n* 0 RECENT\r\n* FLAGS ({SEEN} \\Answered \\Flagged \\Deleted \\Draft)\r\n"
            f"* OK [PERMANENTFLAGS ({SEEN} \\Answered \\Flagged \\Deleted \\Draft)] flags allowed\r\n"
            f"* OK [UIDVALIDITY 1] UIDs valid\r\n* OK [UIDNEXT {next_uid}] predicted next UID\r\n"
            f"{tag} OK [{'READ-ONLY' if self.read_only else 'READ-WRITE'}] {command} completed\r\n"
        )
        return True

    def numbered(self, sequence_set: str, by_uid: bool) -> list[tuple[int, StoredMessage]]:
        """The (sequence number, message) pairs a sequence set names, by UID or by sequence number."""
        with self.mailbox.lock:
            messages = list(enumerate(self.mailbox.messages, start=1))
        if not messages:
            return []
        largest = messages[-1][1].uid if by_uid else len(messages)
        wanted: set[int] = set()
        for part in sequence_set.split(","):
            low, _, high = part.partition(":")
            first = largest if low == "*" else int(low)
            last = first if not high else (largest if high == "*" else int(high))
            wanted.update(range(min(first, last), max(first, last) + 1))
        return [(number, m) for number, m in messages if (m.uid if by_uid else number) in wanted]

    def search(self, arguments: str, by_uid: bool) -> None:
        criteria = [token.upper() for token in _tokens(arguments)]
        with self.mailbox.lock:
            messages = list(enumerate(self.mailbox.messages, start=1))
        found = []
        for number, message in messages:
            if "UNSEEN" in criteria and SEEN in message.flags:
                continue
            if "SEEN" in criteria and SEEN not in message.flags:
                continue
            found.append(message.uid if by_uid else number)
        self.send("* SEARCH" + "".join(f" {n}" for n in found) + "\r\n")

    def fetch(self, arguments: str, by_uid: bool) -> None:
        sequence_set, _, items_text = arguments.partition(" ")
        items = items_text.strip().strip("()").upper().split()
        for number, message in self.numbered(sequence_set, by_uid):
            parts: list[bytes] = []
            if by_uid or "UID" in items:
                parts.append(f"UID {message.uid}".encode())
            for item in items:
                if item in ("BODY[]", "RFC822", "BODY.PEEK[]"):
                    if item != "BODY.PEEK[]" and not self.read_only:
                        with self.mailbox.lock:
                            message.flags.add(SEEN)
                    name = "RFC822" if item == "RFC822" else "BODY[]"
                    parts.append(f"{name} {{{len(message.raw)}}}\r\n".encode() + message.raw)
            if "FLAGS" in items:
                parts.append(f"FLAGS ({' '.join(sorted(message.flags))})".encode())
            self.send(f"* {number} FETCH (".encode() + b" ".join(parts) + b")\r\n")

    def store(self, arguments: str, by_uid: bool) -> None:
        sequence_set, _, rest = arguments.partition(" ")
        action, _, flags_text = rest.partition(" ")
        action = action.upper()
        flags = set(flags_text.strip().strip("()").split())
        for number, message in self.numbered(sequence_set, by_uid):
            with self.mailbox.lock:
                if action.startswith("+FLAGS"):
                    message.flags |= flags
                elif action.startswith("-FLAGS"):
                    message.flags -= flags
                elif action.startswith("FLAGS"):
                    message.flags = set(flags)
                else:
                    raise ValueError(f"unknown STORE action {action}")
                now_flags = " ".join(sorted(message.flags))
            if not action.endswith(".SILENT"):
                uid = f"UID {message.uid} " if by_uid else ""
                self.send(f"* {number} FETCH ({uid}FLAGS ({now_flags}))\r\n")


def _tokens(arguments: str) -> list[str]:
    """Atoms, quoted strings (unquoted) and parenthesised lists (kept whole) of a command's arguments."""
    tokens = []
    for quoted, listed, atom in _TOKEN.findall(arguments):
        if quoted or (not listed and not atom):
            tokens.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            tokens.append(listed or atom)
    return tokens
