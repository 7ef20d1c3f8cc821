"""Hostile input for the API: lone surrogates, control characters, bidirectional overrides and deep nesting.

Each goes on the wire as a client would send it. In JSON a lone surrogate is its escape (`"a\\ud800b"`: no
UTF-8 encodes the character itself); in a query string or a header it is the three bytes its UTF-8-like
encoding gives (`%ED%A0%80`), which are not UTF-8. A value nested `NESTING_DEPTH` levels deep is written
out as text, since Python's own `json` cannot write one that deep.

    draw(hostile_json_body({"subject": "s"}))  # JSON text (bytes) with one field, key or value poisoned
    draw(hostile_query({"status": "new"}))     # the query with one value in its wire form, poisoned
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

LONE_SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
CONTROL_CHARACTERS = (*(chr(code) for code in range(0x20)), "\x7f", "\x85")
# The embeddings, overrides and isolates that make text display in another order than it is stored.
BIDI_CONTROLS = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069")
HOSTILE_CHARACTERS = LONE_SURROGATES + CONTROL_CHARACTERS + BIDI_CONTROLS
# A header value cannot carry a line break (it would end the header) and requests refuses one.
HEADER_HOSTILE_CHARACTERS = tuple(character for character in HOSTILE_CHARACTERS if character not in "\r\n")
NESTING_DEPTH = 1000


@dataclass(frozen=True)
class Nested:
    """A value of `depth` arrays (`[[[...]]]`) or objects (`{"a": {"a": ...}}`) each inside the next."""

    kind: Literal["array", "object"]
    depth: int = NESTING_DEPTH

    def json(self) -> str:
        if self.kind == "array":
            return "[" * self.depth + "]" * self.depth
        return '{"a":' * (self.depth - 1) + "{}" + "}" * (self.depth - 1)


def json_text(value: Any) -> bytes:
    """`value` as JSON text: strings with lone surrogates as escapes, `Nested` values written out in full."""
    nested: dict[str, Nested] = {}

    def stand_in(part: Any) -> Any:
        if isinstance(part, Nested):
            marker = f"\x00nested-{len(nested)}\x00"
            nested[json.dumps(marker)] = part
            return marker
        if isinstance(part, dict):
            return {key: stand_in(item) for key, item in part.items()}
        if isinstance(part, list):
            return [stand_in(item) for item in part]
        return part

    # ensure_ascii (the default) writes every character beyond ASCII, lone surrogates included, as an escape
    text = json.dumps(stand_in(value))
    for marker, part in nested.items():
        text = text.replace(marker, part.json(), 1)
    return text.encode("ascii")


def text_holds_lone_surrogate(text: str) -> bool:
    """Whether `text` holds a surrogate that is not one of a pair: no UTF-8 can encode it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_holds_lone_surrogate(body: bytes) -> bool:
    """Whether any string or key in the JSON text `body` holds a lone surrogate (False for text that is not JSON)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return False
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and text_holds_lone_surrogate(item):
            return True
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def on_the_wire(text: str) -> bytes:
    """The bytes a client sends for `text` in a URL or a header: UTF-8, lone surrogates as their three bytes."""
    return text.encode("utf-8", "surrogatepass")


def header_value(text: str) -> str:
    """`text` as the header value a client sends, one character per byte (HTTP headers are Latin-1)."""
    return on_the_wire(text).decode("latin-1")


@st.composite
def hostile_text(draw: st.DrawFn, around: str = "", characters: tuple[str, ...] = HOSTILE_CHARACTERS) -> str:
    """`around` (or some text) with one to three hostile characters put in, never first: HTTP drops the
    white space a header value starts with (and requests refuses to send it), so it would not reach the desk."""
    text = around or draw(st.sampled_from(["x", "Sign-in fails"]))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(1, len(text)))
        text = text[:at] + draw(st.sampled_from(characters)) + text[at:]
    return text


MemberPath = tuple[str | int, ...]  # keys and indexes, outermost first


def _places(value: Any, path: MemberPath = (), depth: int = 0) -> Iterator[MemberPath]:
    """Every path to a value inside `value` (its members, their members, ...), a few levels down."""
    if depth >= 4:
        return
    members: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        members = list(value.items())
    elif isinstance(value, list):
        members = list(enumerate(value))
    for key, member in members:
        yield (*path, key)
        yield from _places(member, (*path, key), depth + 1)


def _replaced(value: Any, path: MemberPath, new: Any, rename: bool = False) -> Any:
    """A copy of `value` with the member at `path` replaced by `new`, or (`rename`) its key renamed to `new`."""
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        assert isinstance(head, str)
        if not rest and rename:
            return {new if key == head else key: member for key, member in value.items()}
        return {
            key: (_replaced(member, rest, new, rename) if rest else new) if key == head else member
            for key, member in value.items()
        }
    assert isinstance(head, int)
    return [
        (_replaced(member, rest, new, rename) if rest else new) if index == head else member
        for index, member in enumerate(value)
    ]


def _member(value: Any, path: MemberPath) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def hostile_json_body(draw: st.DrawFn, body: Any) -> bytes:
    """`body` as JSON text with one member poisoned: its text, its key, or its value a deep nest.

    A body with no members (not an object or array, or an empty one) is replaced whole.
    """
    places = list(_places(body))
    poisons = ["text", "nesting"]
    if not places:
        return json_text(draw(_hostile_value(None, poisons)))
    path = draw(st.sampled_from(places))
    keyed = isinstance(_member(body, path[:-1]), dict)
    poison = draw(st.sampled_from([*poisons, "key"] if keyed else poisons))
    if poison == "key":
        key = path[-1]
        assert isinstance(key, str)
        return json_text(_replaced(body, path, draw(hostile_text(key)), rename=True))
    return json_text(_replaced(body, path, draw(_hostile_value(_member(body, path), [poison]))))


def _hostile_value(current: Any, poisons: list[str]) -> st.SearchStrategy[Any]:
    poison = st.sampled_from(poisons)
    return poison.flatmap(
        lambda kind: (
            hostile_text(current if isinstance(current, str) else "")
            if kind == "text"
            else st.sampled_from([Nested("array"), Nested("object")])
        )
    )


@st.composite
def hostile_query(draw: st.DrawFn, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """`query` with one parameter's value hostile text, in its wire form (bytes, percent-encoded as they are)."""
    if not query:
        return query
    name = draw(st.sampled_from(sorted(query)))
    current = query[name]
    text = draw(hostile_text(current if isinstance(current, str) else str(current)))
    return {**query, name: on_the_wire(text)}


@st.composite
def hostile_headers(
    draw: st.DrawFn,
    headers: dict[str, Any] | None,
    spared: frozenset[str],
    characters: tuple[str, ...] = HEADER_HOSTILE_CHARACTERS,
) -> dict[str, Any] | None:
    """`headers` with one header's value hostile text as a client sends it; the `spared` headers (lower case) kept."""
    names = sorted(name for name in headers or {} if name.lower() not in spared)
    if not headers or not names:
        return headers
    name = draw(st.sampled_from(names))
    text = draw(hostile_text(str(headers[name]), characters))
    return {**headers, name: header_value(text)}


@st.composite
def hostile_yaml(draw: st.DrawFn, text: str) -> bytes:
    """YAML text with hostile characters put in (a lone surrogate as the escape only double quotes allow), or
    a flow sequence nested `NESTING_DEPTH` levels deep put in place of a line."""
    lines = text.splitlines() or [""]
    at = draw(st.integers(0, len(lines) - 1))
    poison = draw(st.sampled_from(["text", "escape", "nesting"]))
    if poison == "nesting":
        lines[at] = f"{lines[at].partition(':')[0] or 'id'}: {Nested('array').json()}"
    elif poison == "escape":
        surrogate = draw(st.sampled_from(LONE_SURROGATES))
        lines[at] = f'{lines[at].partition(":")[0] or "id"}: "a\\u{ord(surrogate):04x}b"'
    else:
        lines[at] = draw(hostile_text(lines[at], CONTROL_CHARACTERS + BIDI_CONTROLS))
    return on_the_wire("\n".join(lines) + "\n")
