"""The new text of a reply: quoted history, earlier messages and the signature left out.

Where the earlier messages start ("On ... wrote:", Outlook's "From: ... Sent: ..." block and
"-----Original Message-----", in the languages below) is found by `mail-parser-reply`. Its word-based
signature guesses ("Thanks,", "Best," at the start of a line) are not used: they would cut a customer's
sentence that merely starts with those words. Only the signature delimiter line `-- ` (RFC 3676) ends the
text here, and lines quoted with `>` are dropped. The sender's lines are kept as written, indentation
included (pasted logs and commands stay readable).
"""

from __future__ import annotations

import re

from mailparser_reply import EmailMessage as ReplyThread  # type: ignore[import-untyped]

# Languages whose reply headers ("On ... wrote:", "Am ... schrieb ...:") mark where the history starts.
REPLY_HEADER_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs")
# The library's header patterns take time that grows faster than a line's length; no reply header is this
# long, so longer lines are shown to it as a short stand-in (and kept as they are in the result).
LONG_LINE_CHARACTERS = 300
# A reply's new text is at the top; past this much text only quoted history is expected, and it is not read.
READ_CHARACTERS = 200_000
_LONG_LINE_STAND_IN = "\u2026"
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")


def latest_reply(text: str) -> str:
    """The text the sender wrote in this mail, without what it quotes or its signature."""
    original = text[:READ_CHARACTERS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    shown = [_LONG_LINE_STAND_IN if len(line) > LONG_LINE_CHARACTERS else line for line in original]
    thread = ReplyThread(text="\n".join(shown), languages=list(REPLY_HEADER_LANGUAGES), keep_hyphen_lists=True).read()
    newest: str = thread.replies[0].full_body if thread.replies else "\n".join(shown)
    lines = _as_written(newest.split("\n"), shown, original)
    kept: list[str] = []
    for line in lines:
        if _SIGNATURE_DELIMITER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return _tidy(kept)


def _as_written(stripped: list[str], shown: list[str], original: list[str]) -> list[str]:
    """The original lines that `stripped` (the library's lines, stripped of their indentation) came from.

    The library hands back its lines without leading spaces; they are found in order among the lines it
    was shown, and the original of each is taken. If a line cannot be found (the library changed more
    than spaces), its own lines are used as they are.
    """
    found: list[str] = []
    position = 0
    for line in stripped:
        wanted = line.strip()
        while position < len(shown) and shown[position].strip() != wanted:
            position += 1
        if position == len(shown):
            return stripped
        found.append(original[position])
        position += 1
    return found


def _tidy(lines: list[str]) -> str:
    """No blank lines at either end, and at most one blank line in a row."""
    tidy: list[str] = []
    for line in lines:
        if not line.strip() and (not tidy or not tidy[-1].strip()):
            continue
        tidy.append(line)
    while tidy and not tidy[-1].strip():
        tidy.pop()
    return "\n".join(tidy)
