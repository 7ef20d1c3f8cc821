"""Signing in and out, and resetting a forgotten password by an emailed link.

The session cookie is HttpOnly, SameSite=Lax, scoped to the whole desk, and Secure when the desk is
reached over TLS (directly, or behind a proxy that uvicorn trusts for `X-Forwarded-Proto`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from sladesk.services.errors import InvalidFieldError
from sladesk.services.signin import (
    SESSION_LIFETIME,
    SignedIn,
    TooManyAttemptsError,
    request_password_reset,
    reset_password,
    sign_in,
    sign_out,
)
from sladesk.store import transaction
from sladesk.web.pages import (
    SESSION_COOKIE,
    CheckedForm,
    field,
    home_of,
    keep_sign_in_token,
    now_of,
    page_router,
    redirect,
    render,
    safe_next,
    sessions_of,
    visitor_or_none,
)

router = page_router()


@router.get("/")
def front(request: Request) -> Response:
    """The desk's address: the visitor's own start page, or the sign-in page."""
    visitor = visitor_or_none(request)
    if visitor is None:
        return _sign_in_page(request, next_path="")
    return redirect(home_of(visitor))


@router.get("/sign-in")
def sign_in_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "") -> Response:
    visitor = visitor_or_none(request)
    if visitor is not None:
        return redirect(safe_next(next, home_of(visitor)))
    return _sign_in_page(request, next_path=next)


def _sign_in_page(request: Request, *, next_path: str, error: str = "", email: str = "", status: int = 200) -> Response:
    context = {"next_path": next_path, "error": error, "email": email, "title": "Sign in"}
    return keep_sign_in_token(request, render(request, "sign_in.html", context, status_code=status))


@router.post("/sign-in")
def sign_in_form(request: Request, form: CheckedForm) -> Response:
    email, password, next_path = field(form, "email"), field(form, "password"), field(form, "next")
    address = request.client.host if request.client else "unknown"
    now = now_of(request)
    try:
        with transaction(sessions_of(request)) as session:
            signed = sign_in(session, email, password, address, now)
    except TooManyAttemptsError as refused:
        response = _sign_in_page(request, next_path=next_path, error=str(refused), email=email, status=429)
        response.headers["Retry-After"] = str(max(1, int(refused.retry_after.total_seconds())))
        return response
    if signed is None:
        return _sign_in_page(
            request,
            next_path=next_path,
            error="That email and password do not match an account.",
            email=email,
            status=401,
        )
    response = redirect(safe_next(next_path, home_of(signed.actor)))
    _set_session_cookie(request, response, signed, now)
    return response


@router.post("/sign-out")
def sign_out_form(request: Request, form: CheckedForm) -> Response:
    with transaction(sessions_of(request)) as session:
        sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/sign-in", done="You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password-reset")
def reset_request_page(request: Request) -> Response:
    return _reset_request_page(request)


def _reset_request_page(request: Request) -> Response:
    page = render(request, "password_reset.html", {"title": "Reset your password", "sent": False})
    return keep_sign_in_token(request, page)


@router.post("/password-reset")
def reset_request_form(request: Request, form: CheckedForm) -> HTMLResponse:
    email = field(form, "email")
    if not email.strip():
        raise HTTPException(422, "email: enter the email address you sign in with")
    with transaction(sessions_of(request)) as session:
        request_password_reset(session, email, str(request.url_for("reset_password_page")), now_of(request))
    # The same answer whether or not the address has an account: the page reveals no account.
    return render(request, "password_reset.html", {"title": "Reset your password", "sent": True})


@router.get("/password-reset/new", name="reset_password_page")
def reset_password_page(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    page = render(request, "password_new.html", {"title": "Choose a new password", "token": token, "error": ""})
    return keep_sign_in_token(request, page)


@router.post("/password-reset/new")
def reset_password_form(request: Request, form: CheckedForm) -> Response:
    token, password, again = field(form, "token"), field(form, "password"), field(form, "password_again")
    now = now_of(request)
    try:
        if password != again:
            raise InvalidFieldError("password_again", "the two passwords differ")
        with transaction(sessions_of(request)) as session:
            signed = reset_password(session, token, password, now)
    except InvalidFieldError as refused:
        context = {"title": "Choose a new password", "token": token, "error": str(refused)}
        return render(request, "password_new.html", context, status_code=422)
    response = redirect(home_of(signed.actor), done="Your password is changed.")
    _set_session_cookie(request, response, signed, now)
    return response


def _set_session_cookie(request: Request, response: Response, signed: SignedIn, now: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signed.secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"
