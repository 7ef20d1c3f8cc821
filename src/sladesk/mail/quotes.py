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
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")


def latest_reply(text: str) -> str:
    """The text the sender wrote in this mail, without what it quotes or its signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    thread = ReplyThread(text=text, languages=list(REPLY_HEADER_LANGUAGES), keep_hyphen_lists=True).read()
    newest: str = thread.replies[0].full_body if thread.replies else text
    lines = _as_written(newest.split("\n"), text.split("\n"))
    kept: list[str] = []
    for line in lines:
        if _SIGNATURE_DELIMITER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return _tidy(kept)


def _as_written(stripped: list[str], original: list[str]) -> list[str]:
    """The original lines that `stripped` (the library's lines, stripped of their indentation) came from.

    The library hands back its lines without leading spaces; the original ones are found in order. If a
    line cannot be found (the library changed more than spaces), its own lines are used as they are.
    """
    found: list[str] = []
    position = 0
    for line in stripped:
        wanted = line.strip()
        while position < len(original) and original[position].strip() != wanted:
            position += 1
        if position == len(original):
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
