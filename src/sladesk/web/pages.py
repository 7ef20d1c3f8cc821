"""What every page shares: rendering a template, who is signed in, the CSRF check, and errors as pages.

Pages are server-rendered Jinja2 templates with autoescaping on, so ticket text is always shown as text.
A route on a `page_router()` turns the services' refusals into an HTML page with the right status (404,
403, 409, 422) instead of the API's problem document, and sends a visitor who is not signed in to the
sign-in page, coming back afterwards.

Every form carries the session's CSRF token in a hidden `csrf` field (`{{ csrf_field() }}` in a template);
`checked_form` reads a POSTed form and refuses it (403) when the token is missing or wrong. The sign-in
form, sent before any session exists, uses the same field against a cookie of its own (double submit).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from sladesk import __version__
from sladesk.errors import SladeskError
from sladesk.services import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError, StaleVersionError
from sladesk.services.actors import Actor, Role
from sladesk.services.attachments import open_attachment
from sladesk.services.signin import Visitor, record_seen, visitor_for
from sladesk.store import reading, transaction
from sladesk.store.engine import attachments_dir
from sladesk.web import format as formats

SESSION_COOKIE = "sladesk_session"
SIGN_IN_CSRF_COOKIE = "sladesk_sign_in"
MAX_FORM_FIELDS = 200

templates = Environment(
    loader=PackageLoader("sladesk.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    local=formats.local_time,
    iso=formats.iso,
    duration=formats.duration_words,
    state_label=formats.state_label,
)
templates.globals.update(version=__version__, Role=Role)


class SignInRequiredError(Exception):
    """The page needs a signed-in visitor; answered with a redirect to the sign-in page."""


def now_of(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def sessions_of(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def visitor_or_none(request: Request) -> Visitor | None:
    """The signed-in visitor of this request, read once per request."""
    if "visitor" in request.scope:
        found: Visitor | None = request.scope["visitor"]
        return found
    secret = request.cookies.get(SESSION_COOKIE, "")
    visitor = None
    if secret:
        now = now_of(request)
        with reading(sessions_of(request)) as session:
            visitor = visitor_for(session, secret, now)
        if visitor is not None and visitor.seen_due:  # a write at most every minute per session
            with transaction(sessions_of(request)) as session:
                record_seen(session, visitor.session_id, now)
    request.scope["visitor"] = visitor
    return visitor


def signed_in(request: Request) -> Visitor:
    visitor = visitor_or_none(request)
    if visitor is None:
        raise SignInRequiredError
    return visitor


def staff(request: Request) -> Visitor:
    """A signed-in agent or admin."""
    visitor = signed_in(request)
    if visitor.role is Role.CUSTOMER:
        raise ForbiddenError("this page is for agents; customers use the portal")
    return visitor


def admin(request: Request) -> Visitor:
    visitor = signed_in(request)
    if visitor.role is not Role.ADMIN:
        raise ForbiddenError("this page is for admins")
    return visitor


def customer(request: Request) -> Visitor:
    visitor = signed_in(request)
    if visitor.role is not Role.CUSTOMER:
        raise ForbiddenError("the portal is for customers; agents work from the queue")
    return visitor


SignedIn = Annotated[Visitor, Depends(signed_in)]
Staff = Annotated[Visitor, Depends(staff)]
Admin = Annotated[Visitor, Depends(admin)]
Customer = Annotated[Visitor, Depends(customer)]


async def checked_form(request: Request) -> AsyncIterator[FormData]:
    """The POSTed form, once its CSRF token matches the visitor's session (403 otherwise).

    Uploaded files in it are closed (their temporary files deleted) once the route has answered.
    """
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    try:
        visitor = visitor_or_none(request)
        expected = visitor.csrf_token if visitor is not None else request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
        sent = form.get("csrf")
        if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), expected.encode()):
            raise HTTPException(
                403, "this form has expired or did not come from this desk; reload the page and try again"
            )
        yield form
    finally:
        await form.close()


CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData | Mapping[str, Any], name: str, default: str = "") -> str:
    """A text field of a form (`default` when absent or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else default


def zone_of(visitor: Visitor | None, fallback: str | None = None) -> ZoneInfo:
    """The zone a visitor reads instants in: their own, else `fallback` (a policy's), else UTC."""
    for name in (visitor.timezone if visitor else None, fallback):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A page from `template`, with the visitor, the CSRF field and the request in its context."""
    visitor = visitor_or_none(request)
    csrf = visitor.csrf_token if visitor is not None else sign_in_token(request)
    values: dict[str, Any] = {
        "request": request,
        "visitor": visitor,
        "now": now_of(request),
        "zone": zone_of(visitor),
        "csrf_field": lambda: Markup('<input type="hidden" name="csrf" value="{}">').format(csrf),
        "flash": request.query_params.get("done", ""),
        **(context or {}),
    }
    html = templates.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def sign_in_token(request: Request) -> str:
    """The CSRF token of the forms sent before signing in: the visitor's cookie's, or a new one for this request."""
    token: str | None = request.scope.get("sign_in_token")
    if token is None:
        token = request.cookies.get(SIGN_IN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.scope["sign_in_token"] = token
    return token


def keep_sign_in_token(request: Request, response: Response) -> Response:
    """Set the cookie that a form sent before signing in is checked against (see `sign_in_token`)."""
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        sign_in_token(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def redirect(url: str, *, done: str | None = None) -> RedirectResponse:
    """See other (303): where a form's POST sends the browser; `done` is a one-line confirmation to show there."""
    if done:
        url = f"{url}{'&' if '?' in url else '?'}done={quote(done)}"
    return RedirectResponse(url, status_code=303)


_STATUS = {NotFoundError: 404, ForbiddenError: 403, ConflictError: 409, StaleVersionError: 409, InvalidFieldError: 422}
_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Changed meanwhile",
    413: "Too large",
    422: "Please check the form",
    429: "Too many attempts",
}


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    title = _TITLES.get(status, "Something went wrong")
    return render(request, "error.html", {"title": title, "detail": detail, "status": status}, status_code=status)


class PageRoute(APIRoute):
    """A route that answers with pages: refusals and missing sign-ins become HTML, never problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequiredError:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)
            except HTTPException as error:
                response = error_page(request, error.status_code, str(error.detail))
                for name, value in (error.headers or {}).items():
                    response.headers[name] = value
                return response
            except SladeskError as error:
                status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 422)
                return error_page(request, status, str(error))
            except RequestValidationError as error:
                return error_page(request, *_refused_address(error))

        return page_handler


def _refused_address(error: RequestValidationError) -> tuple[int, str]:
    """A path or query value the route cannot take: a path names nothing there is (404), a query is 422."""
    problems = list(error.errors())
    where = [str(part) for part in (problems[0].get("loc", ()) if problems else ())]
    if where and where[0] == "path":
        return 404, "there is no such page: check the address"
    name = where[-1] if where else "the request"
    message = problems[0].get("msg", "is not valid") if problems else "is not valid"
    return 422, f"{name}: {message}"


def page_router(**kwargs: Any) -> APIRouter:
    """A router for pages: `PageRoute`s, left out of the API's OpenAPI document."""
    return APIRouter(route_class=PageRoute, include_in_schema=False, **kwargs)


def home_of(person: Visitor | Actor) -> str:
    """Where a person starts: the portal for customers, the queue for agents and admins."""
    return "/portal" if person.role is Role.CUSTOMER else "/queue"


def safe_next(target: str | None, fallback: str) -> str:
    """A path on this desk to go back to after signing in; anything else (another host, a scheme) is `fallback`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def attachment_download(request: Request, actor: Actor, ticket_id: int, attachment_id: int) -> FileResponse:
    """A ticket's file as the actor may read it, as a download with its stored media type: never shown inline."""
    storage = attachments_dir(request.app.state.attachments_dir)
    with reading(sessions_of(request)) as session:
        stored = open_attachment(session, actor, ticket_id, attachment_id, storage)
    return FileResponse(
        stored.path,
        media_type=stored.row.content_type,
        filename=stored.row.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )
