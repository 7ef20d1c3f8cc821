"""A policy's severities as passages of text: each definition cut into its clauses, and each example.

A suggestion quotes the passage it matched, so a passage is always an exact piece of the policy's own words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sladesk.policy import SeveritySpec

# Where a definition's clauses meet: a colon or semicolon, a sentence end, or a comma before "or", "and",
# "but", "for example" (each clause says one way a ticket meets the definition).
_CLAUSE_BREAK = re.compile(r"(?<=[:;.])\s+|,\s+(?=(?:or|and|but|for example|such as|though)\b)")
_MIN_CLAUSE_WORDS = 4  # a shorter piece is joined to the clause before it: alone it says too little


class PassageKind(StrEnum):
    DEFINITION = "definition"
    EXAMPLE = "example"


@dataclass(frozen=True)
class Passage:
    """One piece of a severity's text: a clause of its definition, or one of its examples."""

    severity_code: str
    kind: PassageKind
    text: str


def definition_clauses(definition: str) -> tuple[str, ...]:
    """The definition cut into clauses, each an exact substring of it (without its closing punctuation), in order."""
    pieces = [piece.strip() for piece in _CLAUSE_BREAK.split(definition.strip()) if piece.strip()]
    clauses: list[str] = []
    for piece in pieces:
        if clauses and len(piece.split()) < _MIN_CLAUSE_WORDS:
            joined = definition[definition.index(clauses[-1]) : definition.index(piece) + len(piece)]
            clauses[-1] = joined
        else:
            clauses.append(piece)
    if len(clauses) > 1 and len(clauses[0].split()) < _MIN_CLAUSE_WORDS:
        start = definition.index(clauses[0])
        clauses[0:2] = [definition[start : definition.index(clauses[1]) + len(clauses[1])]]
    return tuple(clause.rstrip(" :;,.") for clause in clauses) or (definition.strip(),)


def passages_of(severities: Sequence[SeveritySpec]) -> tuple[Passage, ...]:
    """Every severity's definition clauses and examples, most severe first."""
    passages: list[Passage] = []
    for severity in sorted(severities, key=lambda s: s.rank):
        passages.extend(
            Passage(severity.code, PassageKind.DEFINITION, c) for c in definition_clauses(severity.definition)
        )
        passages.extend(Passage(severity.code, PassageKind.EXAMPLE, e.strip()) for e in severity.examples if e.strip())
    return tuple(passages)
