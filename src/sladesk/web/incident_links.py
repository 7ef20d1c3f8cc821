"""The pages a page email's links open: confirm, then acknowledge or resolve the ticket's on-call incident.

`GET /incident/{token}` only shows what the link would do, with a button: mail scanners and link previews
fetch links by themselves, and must not acknowledge anything. `POST` acts, as the person the link was sent
to, whether or not anyone is signed in here (the signed token is the credential). The form still carries a
CSRF token like every form of the desk, so another site cannot post it from a visitor's browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from sladesk.config import load_settings
from sladesk.services.incident_links import (
    Action,
    AlreadyDoneError,
    LinkError,
    LinkTarget,
    act_by_link,
    done_words,
    link_target,
    read_link,
    signing_key,
)
from sladesk.store import reading, transaction
from sladesk.web.pages import CheckedForm, keep_sign_in_token, now_of, page_router, render, sessions_of

router = page_router()

_TITLES: dict[Action, str] = {"acknowledge": "Acknowledge the page", "resolve": "Resolve the incident"}
_WHAT: dict[Action, str] = {
    "acknowledge": "Acknowledging tells the desk you are on it: the escalation steps still waiting for an "
    "acknowledgement will not page anyone.",
    "resolve": "Resolving ends the on-call incident: nobody is paged for it any more. The ticket itself stays "
    "as it is.",
}
_AFTER: dict[Action, str] = {
    "acknowledge": "The steps that wait for an acknowledgement will not page.",
    "resolve": "Nobody is paged for it any more.",
}


@router.get("/incident/{token}")
def incident_link_page(request: Request, token: str) -> Response:
    """What the link would do, and a button to do it; nothing changes here."""
    now = now_of(request)
    try:
        link = read_link(token, signing_key(load_settings()), now)
        with reading(sessions_of(request)) as session:
            target = link_target(session, link)
            facts = _facts(target)
            done = target.state.done(link.action, now)
    except LinkError as refused:
        return _refused(request, refused)
    if done is not None:
        detail = f"Nothing to do: the on-call incident was {done}."
        return _page(request, facts, link.action, "already", detail=detail)
    what = f"{_WHAT[link.action]} You act as {facts['person']}."
    page = _page(request, facts, link.action, "confirm", token=token, what=what)
    return keep_sign_in_token(request, page)


@router.post("/incident/{token}")
def incident_link_form(request: Request, token: str, form: CheckedForm) -> Response:
    """Acknowledge or resolve as the link says, then say what became of it."""
    now = now_of(request)
    facts: dict[str, Any] | None = None
    try:
        link = read_link(token, signing_key(load_settings()), now)
        with transaction(sessions_of(request)) as session:
            facts = _facts(link_target(session, link))
            act_by_link(session, link, now)
    except LinkError as refused:
        return _refused(request, refused)
    except AlreadyDoneError as refused:  # nothing was stored: the transaction rolled back
        return _page(request, facts, link.action, "already", detail=f"Nothing changed: {refused}.", status=409)
    assert facts is not None  # read before acting
    detail = (
        f"The on-call incident of ticket #{facts['ticket_id']} is {done_words(link.action)}, by {facts['person']}. "
        + _AFTER[link.action]
    )
    return _page(request, facts, link.action, "done", detail=detail)


def _facts(target: LinkTarget) -> dict[str, Any]:
    """What the page shows of the ticket and the person, read while the unit of work is open."""
    return {
        "ticket_id": target.ticket.id,
        "subject": target.ticket.subject,
        "severity": target.severity,
        "person": target.person.name,
    }


def _page(
    request: Request,
    facts: dict[str, Any] | None,
    action: Action | None,
    outcome: str,
    *,
    detail: str = "",
    token: str = "",
    what: str = "",
    status: int = 200,
) -> Response:
    context = {
        "title": _TITLES[action] if action is not None else "This link cannot be used",
        "facts": facts,
        "outcome": outcome,
        "detail": detail,
        "token": token,
        "what": what,
        "button": "Acknowledge" if action == "acknowledge" else "Resolve",
    }
    response = render(request, "incident_link.html", context, status_code=status)
    response.headers["Referrer-Policy"] = "no-referrer"  # the address holds the token
    return response


def _refused(request: Request, refused: LinkError) -> Response:
    reason = str(refused)
    return _page(request, None, None, "refused", detail=f"{reason[:1].upper()}{reason[1:]}.", status=refused.status)
