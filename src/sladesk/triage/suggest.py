"""A severity suggestion from a ticket's text: the closest severity by its own words, the more severe when close.

Each severity's score is its best passage's similarity to the text (a clause of its definition or one of its
examples, see `sladesk.triage.index`), from 0 to 1. The suggestion is the severity with the highest score,
except that a more severe one whose score is within `CLOSE_MARGIN` of that highest score is preferred: the
policies tell customers who are unsure to choose the more severe level, and the suggestion does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sladesk.policy import Policy, SeveritySpec
from sladesk.triage.index import SeverityIndex, index_for
from sladesk.triage.passages import PassageKind

CLOSE_MARGIN = 0.02  # two scores this close (on the 0 to 1 scale) are too close to tell apart: the more severe wins
SCORE_DIGITS = 4  # scores are reported rounded to this many decimals, and compared as reported


@dataclass(frozen=True)
class Candidate:
    """One severity's score for a text, and the clause of its definition and the example that matched best."""

    code: str
    rank: int
    name: str
    score: float
    matched_definition: str  # the definition's clause closest to the text, quoted exactly
    matched_example: str | None  # the example closest to the text; None when the severity has no examples
    definition_score: float
    example_score: float


@dataclass(frozen=True)
class Suggestion:
    """The suggested severity (None when the text shares nothing with any severity), why, and every score."""

    severity: SeveritySpec | None
    reasons: tuple[str, ...]
    candidates: tuple[Candidate, ...]  # most severe first


def suggest_severity(policy: Policy, subject: str, description: str) -> Suggestion:
    """The severity the policy's own definitions and examples suggest for a ticket with this text."""
    return suggest_from_index(index_for(policy), subject, description)


def suggest_from_index(index: SeverityIndex, subject: str, description: str) -> Suggestion:
    """As `suggest_severity`, on an index built already (the benchmark builds one per held-out example)."""
    similarities = index.similarities(f"{subject}\n{description}")
    candidates = tuple(_candidate(index, severity, similarities) for severity in index.severities)
    best = max(candidate.score for candidate in candidates)
    if best <= 0:
        reason = "No word of the text matches any severity's definition or examples: choose from the guide."
        return Suggestion(None, (reason,), candidates)
    chosen, top = choose(candidates)
    severity = next(severity for severity in index.severities if severity.code == chosen.code)
    return Suggestion(severity, _reasons(chosen, top), candidates)


def choose(candidates: Sequence[Candidate]) -> tuple[Candidate, Candidate]:
    """The candidate suggested and the one that scored highest: the most severe within `CLOSE_MARGIN` of the top."""
    best = max(candidate.score for candidate in candidates)
    ordered = sorted(candidates, key=lambda candidate: candidate.rank)
    top = next(candidate for candidate in ordered if candidate.score == best)
    chosen = next(candidate for candidate in ordered if candidate.score >= best - CLOSE_MARGIN)
    return chosen, top


def _candidate(index: SeverityIndex, severity: SeveritySpec, similarities: object) -> Candidate:
    best: dict[PassageKind, tuple[float, str | None]] = {PassageKind.DEFINITION: (-1.0, None)}
    best[PassageKind.EXAMPLE] = (0.0, None)
    for passage, similarity in zip(index.passages, similarities, strict=True):  # type: ignore[call-overload]
        if passage.severity_code != severity.code:
            continue
        score = round(float(similarity), SCORE_DIGITS)
        if score > best[passage.kind][0] or best[passage.kind][1] is None:
            best[passage.kind] = (score, passage.text)
    definition_score, clause = best[PassageKind.DEFINITION]
    example_score, example = best[PassageKind.EXAMPLE]
    return Candidate(
        code=severity.code,
        rank=severity.rank,
        name=severity.name,
        score=max(definition_score, example_score),
        matched_definition=clause or severity.definition,
        matched_example=example,
        definition_score=max(definition_score, 0.0),
        example_score=example_score,
    )


def _reasons(chosen: Candidate, top: Candidate) -> tuple[str, ...]:
    """Why: the definition clause and the example matched, and the close-candidate rule when it decided."""
    reasons = [
        f"It matches {chosen.code}'s definition: '{chosen.matched_definition}' (score {chosen.definition_score})."
    ]
    if chosen.matched_example is not None:
        reasons.append(f"Closest {chosen.code} example: '{chosen.matched_example}' (score {chosen.example_score}).")
    if chosen.code != top.code:
        reasons.append(
            f"{top.code} scored {top.score} and {chosen.code} {chosen.score}, within {CLOSE_MARGIN} of each other: "
            f"when two levels are close, the more severe one is suggested."
        )
    return tuple(reasons)


def quoted_match(candidate: Candidate) -> str:
    """The passage the suggestion rests on most: the example when it matched better, else the definition's clause."""
    if candidate.matched_example is not None and candidate.example_score > candidate.definition_score:
        return candidate.matched_example
    return candidate.matched_definition
