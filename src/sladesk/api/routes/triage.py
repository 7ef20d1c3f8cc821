"""POST /api/v1/policies/{policy_id}/triage: the severity a ticket's text suggests under a policy, and why.

Any signed-in user may ask, about any policy they can read; nothing is stored. The suggestion comes from
`sladesk.triage`: the policy's own definitions and examples, the more severe of two close levels.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.schemas import MAX_ID, Body
from sladesk.errors import UnknownPolicyError
from sladesk.policy import Policy
from sladesk.services import InvalidFieldError, NotFoundError, policies
from sladesk.store import reading
from sladesk.triage import CLOSE_MARGIN, Suggestion, quoted_match, suggest_severity

router = APIRouter(prefix="/api/v1", tags=["policies and queue"])


class TriageRequest(Body):
    """A ticket's text, as it would be opened: the same limits as a ticket's subject and description."""

    subject: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=100_000)


class CandidateOut(BaseModel):
    """One severity's score for the text (0 to 1), and the clause of its definition and the example it matched."""

    code: str
    rank: int
    name: str
    score: float
    matched_definition: str
    matched_example: str | None


class TriageOut(BaseModel):
    """The suggested severity (null when the text shares no word with the policy), the reasons, every score."""

    policy_id: str
    policy_version: int
    severity: str | None = Field(description="The suggested severity's code, e.g. P1")
    rank: int | None
    name: str | None
    matched: str | None = Field(
        description="The policy's words the suggestion rests on most: its best example, or its definition's clause"
    )
    reasons: list[str]
    close_margin: float = Field(description="Scores this close count as a tie, which the more severe level wins")
    candidates: list[CandidateOut] = Field(description="Every severity of the policy, most severe first")


def triage_out(policy: Policy, suggestion: Suggestion) -> TriageOut:
    """The answer the API (and the portal's script) gets for a suggestion."""
    chosen = suggestion.severity
    best = next((c for c in suggestion.candidates if chosen is not None and c.code == chosen.code), None)
    return TriageOut(
        policy_id=policy.id,
        policy_version=policy.version,
        severity=chosen.code if chosen else None,
        rank=chosen.rank if chosen else None,
        name=chosen.name if chosen else None,
        matched=quoted_match(best) if best else None,
        reasons=list(suggestion.reasons),
        close_margin=CLOSE_MARGIN,
        candidates=[
            CandidateOut(
                code=c.code,
                rank=c.rank,
                name=c.name,
                score=c.score,
                matched_definition=c.matched_definition,
                matched_example=c.matched_example,
            )
            for c in suggestion.candidates
        ],
    )


@router.post(
    "/policies/{policy_id}/triage",
    response_model=TriageOut,
    responses={404: {"description": "No such policy, or no such version of it"}},
)
def triage(
    policy_id: str,
    body: TriageRequest,
    actor: CurrentActor,
    sessions: Sessions,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> TriageOut:
    """Suggest a severity for a ticket's subject and description from the policy's own definitions and examples.

    Each severity gets a score from 0 to 1 (its best-matching definition clause or example); the highest wins,
    but a more severe level within `close_margin` of it is preferred. A suggestion only: nothing is stored, and
    the customer or agent chooses the severity.
    """
    if not body.subject.strip() and not body.description.strip():
        raise InvalidFieldError("description", "give a subject or a description to suggest a severity from")
    with reading(sessions) as session:
        try:
            policy = (
                policies.current_policy(session, policy_id)
                if version is None
                else policies.policy_at(session, policy_id, version)
            )
        except (UnknownPolicyError, NotFoundError):
            raise HTTPException(
                404, f"no policy {policy_id!r}" + (f" at version {version}" if version else "")
            ) from None
    return triage_out(policy, suggest_severity(policy, body.subject, body.description))
