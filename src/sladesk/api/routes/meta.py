"""/api/v1/policies and /api/v1/queue: the rules, and the one order of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from sladesk.api.auth import CurrentActor, Sessions
from sladesk.api.schemas import MAX_ID, PolicySummary, PolicyVersionOut, QueueItemOut
from sladesk.errors import UnknownPolicyError
from sladesk.policy import Policy
from sladesk.policy.words import rules_in_words, target_lines
from sladesk.services import policies
from sladesk.services.views import queue_page
from sladesk.store import reading, transaction

router = APIRouter(prefix="/api/v1", tags=["policies and queue"])
YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


async def yaml_body(request: Request) -> str:
    """The request body as YAML text: a YAML (or plain text) content type, UTF-8 encoded."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_MEDIA_TYPES:
        raise HTTPException(415, f"send the policy file as application/yaml, not {media or 'no content type'}")
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise HTTPException(400, f"the policy file is not UTF-8 text (byte {error.start})") from None


def _summary(policy: Policy) -> PolicySummary:
    severities = []
    now = datetime.now(UTC)
    for severity in policy.severities:
        targets = {}
        for metric_id in policy.metric_ids:
            rule = policy.clock_rule(severity, metric_id)
            targets[metric_id] = {
                "due": rule.due_words,
                "goal": rule.goal_words,
                "calendar": rule.calendar_id,
                "informational": rule.informational,
            }
        in_words = [
            {"metric": line.metric_id, "case": line.case, "words": line.words}
            for line in target_lines(policy, severity, now)
        ]
        severities.append(
            {
                "rank": severity.rank,
                "code": severity.code,
                "name": severity.name,
                "definition": severity.definition,
                "examples": list(severity.examples),
                "pages_oncall": severity.pages_oncall,
                "targets": targets,
                "targets_in_words": in_words,
            }
        )
    return PolicySummary(
        id=policy.id,
        name=policy.name,
        version=policy.version,
        timezone=policy.spec.timezone,
        severities=severities,
        metrics=list(policy.metric_ids),
        rules=rules_in_words(policy, now),
    )


@router.get("/policies", response_model=list[PolicySummary])
def list_policies(actor: CurrentActor, sessions: Sessions) -> list[PolicySummary]:
    """Every policy at its current version: the built-ins and the uploaded ones."""
    with reading(sessions) as session:
        return [_summary(policy) for policy in policies.all_policies(session)]


@router.post(
    "/policies",
    response_model=PolicySummary,
    status_code=201,
    responses={200: {"description": "dry run: the policy is valid and was not stored"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the policy file, as YAML (the format of docs/policy-format.md)",
            "content": {media: {"schema": {"type": "string"}} for media in YAML_MEDIA_TYPES},
        }
    },
)
def upload_policy(
    actor: CurrentActor,
    sessions: Sessions,
    response: Response,
    source: Annotated[str, Depends(yaml_body)],
    dry_run: Annotated[bool, Query(description="check the file without storing it")] = False,
) -> PolicySummary:
    """Store a new policy, or a new version of one (admins only); every problem in the file comes back at once.

    The file's `version` must be above the policy's current version. Tickets opened before keep their
    version; organisations on the policy open new tickets under the new one.
    """
    with transaction(sessions) as session:
        policy = policies.upload_policy(session, actor, source, dry_run=dry_run)
    if dry_run:
        response.status_code = 200
    else:
        response.headers["Location"] = f"/api/v1/policies/{policy.id}?version={policy.version}"
    return _summary(policy)


@router.get("/policies/{policy_id}", response_model=PolicySummary)
def read_policy(
    policy_id: str,
    actor: CurrentActor,
    sessions: Sessions,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> PolicySummary:
    """A policy's severities and targets in words, at its current version or the one asked for."""
    with reading(sessions) as session:
        policy, _ = _find(session, policy_id, version)
        return _summary(policy)


@router.get("/policies/{policy_id}/versions", response_model=list[PolicyVersionOut])
def policy_versions(policy_id: str, actor: CurrentActor, sessions: Sessions) -> list[PolicyVersionOut]:
    """The policy's versions, newest first."""
    with reading(sessions) as session:
        _find(session, policy_id, None)
        return [
            PolicyVersionOut.model_validate(v, from_attributes=True) for v in policies.versions_of(session, policy_id)
        ]


@router.get(
    "/policies/{policy_id}/source",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
def policy_source(
    policy_id: str,
    actor: CurrentActor,
    sessions: Sessions,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> PlainTextResponse:
    """The policy's YAML exactly as stored: edit it, raise its version, and upload it again."""
    with reading(sessions) as session:
        policy, source = _find(session, policy_id, version)
    headers = {"Content-Disposition": f'inline; filename="{policy.id}.v{policy.version}.yaml"'}
    return PlainTextResponse(source, media_type="application/yaml; charset=utf-8", headers=headers)


def _find(session: Session, policy_id: str, version: int | None) -> tuple[Policy, str]:
    try:
        return policies.source_of(session, policy_id, version)
    except UnknownPolicyError:
        raise HTTPException(404, f"no policy {policy_id!r}") from None


@router.get("/queue", response_model=list[QueueItemOut])
def queue(
    actor: CurrentActor,
    sessions: Sessions,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    team: Annotated[
        str | None, Query(max_length=64, description="one team's queue (its slug), or `mine`: the caller's teams")
    ] = None,
) -> list[QueueItemOut]:
    """Open tickets in the one total order of the work queue, each with its state now and the reason for its place.

    Pinned tickets come first while their pin is in force; `team` keeps one team's queue, in the same order.

    The database sorts (severity, tier, next due, opened, id: the index `ix_tickets_queue_order`), so a
    page costs the same however many tickets are open.
    """
    with reading(sessions) as session:
        items = queue_page(session, actor, request.app.state.clock(), limit, team=team)
    return [QueueItemOut.model_validate(item, from_attributes=True) for item in items]
