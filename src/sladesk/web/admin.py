"""The admin area: organisations, users and tokens, teams and their members, the outbox's failed deliveries, and
the policies."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from sladesk.errors import PolicyError, Problem, SladeskError, UnknownPolicyError
from sladesk.policy import Policy
from sladesk.policy.model import check_zone
from sladesk.policy.words import rules_in_words
from sladesk.services import (
    ConflictError,
    InvalidFieldError,
    NotFoundError,
    Role,
    accounts,
    admin_views,
    delivery,
    policies,
)
from sladesk.services import teams as team_services
from sladesk.services.actors import Actor
from sladesk.services.directory import create_organisation, create_user, update_organisation, update_user
from sladesk.store import reading, transaction
from sladesk.web.pages import Admin, CheckedForm, field, now_of, page_router, redirect, render, sessions_of, zone_of

router = page_router()

PAGE_SIZE = 100
MAX_POLICY_BYTES = 512 * 1024  # a policy file is a few kilobytes; anything this large is not one
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ROLES = (Role.CUSTOMER, Role.AGENT, Role.ADMIN)
FIRST_WEEK, LAST_WEEK = date(1902, 1, 1), date(2398, 12, 31)  # within the years a calendar compiles


@router.get("/admin")
def overview(request: Request, visitor: Admin) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        failed = len(admin_views.failed_deliveries(session, visitor.actor))
        known = policies.all_policies(session)
        organisations = accounts.list_organisations(session, visitor.actor, limit=PAGE_SIZE + 1)
        users = admin_views.user_count(session, visitor.actor)
    counts = {
        "organisations": f"{PAGE_SIZE}+" if len(organisations) > PAGE_SIZE else str(len(organisations)),
        "users": str(users),
        "failed": failed,
        "policies": len(known),
    }
    return render(request, "admin/overview.html", {"title": "Admin", "counts": counts})


# organisations


@router.get("/admin/organisations")
def organisations(request: Request, visitor: Admin, after: int | None = None) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        rows = accounts.list_organisations(session, visitor.actor, after=after, limit=PAGE_SIZE + 1)
    more = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    context = {"title": "Organisations", "organisations": rows[:PAGE_SIZE], "more_after": more}
    return render(request, "admin/organisations.html", context)


@router.get("/admin/organisations/new")
def new_organisation(request: Request, visitor: Admin) -> HTMLResponse:
    return _organisation_form(request, None, {"name": "", "policy_id": "", "tier": "", "timezone": ""})


@router.post("/admin/organisations/new", response_model=None)
def create_organisation_page(request: Request, visitor: Admin, form: CheckedForm) -> Response:
    values = _organisation_values(form)
    try:
        changes = _checked_organisation(values)
        with transaction(sessions_of(request)) as session:
            organisation = create_organisation(session, visitor.actor, now=now_of(request), **changes)
            organisation_id, name = organisation.id, organisation.name
    except (InvalidFieldError, ConflictError) as error:
        return _organisation_form(request, None, values, error)
    return redirect(f"/admin/organisations/{organisation_id}", done=f"Organisation {name} created.")


@router.get("/admin/organisations/{organisation_id}")
def organisation(request: Request, visitor: Admin, organisation_id: int) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        row = accounts.get_organisation(session, visitor.actor, organisation_id)
    values = {"name": row.name, "policy_id": row.policy_id, "tier": row.tier or "", "timezone": row.timezone or ""}
    return _organisation_form(request, organisation_id, values)


@router.post("/admin/organisations/{organisation_id}", response_model=None)
def update_organisation_page(request: Request, visitor: Admin, form: CheckedForm, organisation_id: int) -> Response:
    _check_id(organisation_id, f"no organisation {organisation_id}")
    values = _organisation_values(form)
    try:
        changes = _checked_organisation(values)
        with transaction(sessions_of(request)) as session:
            update_organisation(session, visitor.actor, organisation_id, changes)
    except (InvalidFieldError, ConflictError) as error:
        return _organisation_form(request, organisation_id, values, error)
    return redirect(f"/admin/organisations/{organisation_id}", done="Organisation saved.")


def _organisation_values(form: FormData) -> dict[str, str]:
    return {name: field(form, name).strip() for name in ("name", "policy_id", "tier", "timezone")}


def _checked_organisation(values: dict[str, str]) -> dict[str, Any]:
    """The form's values as the use case takes them; InvalidFieldError names the first field to fix."""
    if not values["name"]:
        raise InvalidFieldError("name", "give the organisation a name")
    if len(values["name"]) > 200:
        raise InvalidFieldError("name", "at most 200 characters")
    if not values["policy_id"]:
        raise InvalidFieldError("policy_id", "choose a policy")
    if len(values["tier"]) > 64:
        raise InvalidFieldError("tier", "at most 64 characters")
    if values["timezone"]:
        try:
            check_zone(values["timezone"])
        except ValueError as error:
            raise InvalidFieldError("timezone", str(error)) from None
    return {
        "name": values["name"],
        "policy_id": values["policy_id"],
        "tier": values["tier"] or None,
        "timezone": values["timezone"] or None,
    }


def _organisation_form(
    request: Request, organisation_id: int | None, values: dict[str, str], error: SladeskError | None = None
) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        known = policies.all_policies(session)
        visitor = request.scope["visitor"]
        members = (
            accounts.list_users(session, visitor.actor, organisation_id=organisation_id, limit=PAGE_SIZE)
            if organisation_id is not None
            else []
        )
    context = {
        "title": "New organisation" if organisation_id is None else f"Organisation {values['name']}",
        "organisation_id": organisation_id,
        "values": values,
        "policies": known,
        "members": members,
        "error": error,
        "error_field": getattr(error, "field", None),
    }
    status = 200 if error is None else 409 if isinstance(error, ConflictError) else 422
    return render(request, "admin/organisation.html", context, status_code=status)


# users and tokens


@router.get("/admin/users")
def users(request: Request, visitor: Admin, after: int | None = None, role: str = "") -> HTMLResponse:
    chosen = next((r for r in ROLES if r.value == role), None)
    with reading(sessions_of(request)) as session:
        rows = accounts.list_users(session, visitor.actor, role=chosen, after=after, limit=PAGE_SIZE + 1)
        names = {o.id: o.name for o in accounts.list_organisations(session, visitor.actor, limit=1000)}
    more = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    context = {
        "title": "Users",
        "users": rows[:PAGE_SIZE],
        "organisation_names": names,
        "role": role if chosen else "",
        "roles": ROLES,
        "more_after": more,
    }
    return render(request, "admin/users.html", context)


@router.get("/admin/users/new")
def new_user(request: Request, visitor: Admin, organisation: int | None = None) -> HTMLResponse:
    values = {
        "email": "",
        "name": "",
        "role": Role.CUSTOMER.value,
        "organisation_id": str(organisation or ""),
        "support_contact": "",
    }
    return _user_form(request, values)


@router.post("/admin/users/new", response_model=None)
def create_user_page(request: Request, visitor: Admin, form: CheckedForm) -> Response:
    values = {name: field(form, name).strip() for name in ("email", "name", "role", "organisation_id")}
    values["support_contact"] = "yes" if field(form, "support_contact") == "yes" else ""
    password = field(form, "password")
    try:
        if not EMAIL.fullmatch(values["email"]) or len(values["email"]) > 320:
            raise InvalidFieldError("email", "give an email address, like name@example.com")
        if not values["name"] or len(values["name"]) > 200:
            raise InvalidFieldError("name", "give a name of at most 200 characters")
        role = next((r for r in ROLES if r.value == values["role"]), None)
        if role is None:
            raise InvalidFieldError("role", "choose customer, agent or admin")
        organisation_id = _whole_number(values["organisation_id"], "organisation_id")
        if role is not Role.CUSTOMER:
            organisation_id = None  # agents and admins work for the desk, not for a customer organisation
        if password and len(password) < 10:
            raise InvalidFieldError("password", "at least 10 characters, or leave it empty")
        with transaction(sessions_of(request)) as session:
            user = create_user(
                session,
                visitor.actor,
                email=values["email"],
                name=values["name"],
                role=role,
                organisation_id=organisation_id,
                password=password or None,
                support_contact=bool(values["support_contact"]) and role is Role.CUSTOMER,
                now=now_of(request),
            )
            user_id, email = user.id, user.email
    except (InvalidFieldError, ConflictError) as error:
        return _user_form(request, values, error)
    return redirect(f"/admin/users/{user_id}", done=f"User {email} created.")


def _check_id(row_id: int, missing: str) -> None:
    """Refuse an id no row can have (the databases hold ids up to `MAX_ID`) as the page of something missing."""
    if not 1 <= row_id <= accounts.MAX_ID:
        raise NotFoundError(missing)


def _whole_number(text: str, name: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 10 or int(text) > accounts.MAX_ID:
        raise InvalidFieldError(name, "choose one from the list")
    return int(text)


def _user_form(request: Request, values: dict[str, str], error: SladeskError | None = None) -> HTMLResponse:
    visitor = request.scope["visitor"]
    with reading(sessions_of(request)) as session:
        organisations_known = accounts.list_organisations(session, visitor.actor, limit=1000)
    context = {
        "title": "New user",
        "values": values,
        "roles": ROLES,
        "organisations": organisations_known,
        "error": error,
        "error_field": getattr(error, "field", None),
    }
    status = 200 if error is None else 409 if isinstance(error, ConflictError) else 422
    return render(request, "admin/user_new.html", context, status_code=status)


@router.get("/admin/users/{user_id}")
def user(request: Request, visitor: Admin, user_id: int) -> HTMLResponse:
    return _user_page(request, user_id)


def _user_page(
    request: Request,
    user_id: int,
    *,
    issued: accounts.IssuedToken | None = None,
    error: SladeskError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    visitor = request.scope["visitor"]
    with reading(sessions_of(request)) as session:
        row = accounts.get_user(session, visitor.actor, user_id)
        tokens = accounts.list_tokens(session, visitor.actor, user_id)
        organisation_row = (
            accounts.get_organisation(session, visitor.actor, row.organisation_id) if row.organisation_id else None
        )
        organisations_known = accounts.list_organisations(session, visitor.actor, limit=1000)
    context = {
        "title": f"User {row.name}",
        "user": row,
        "organisation": organisation_row,
        "organisations": organisations_known,
        "roles": ROLES,
        "tokens": tokens,
        "issued": issued,
        "error": error,
        "zone": zone_of(visitor),
    }
    return render(request, "admin/user.html", context, status_code=status_code)


@router.post("/admin/users/{user_id}/active", response_model=None)
def set_active(request: Request, visitor: Admin, form: CheckedForm, user_id: int) -> Response:
    _check_id(user_id, f"no user {user_id}")
    active = field(form, "active") == "yes"
    try:
        with transaction(sessions_of(request)) as session:
            update_user(session, visitor.actor, user_id, {"active": active})
    except ConflictError as error:
        return _user_page(request, user_id, error=error, status_code=409)
    done = "User reactivated: they can sign in again." if active else "User deactivated and their API tokens revoked."
    return redirect(f"/admin/users/{user_id}", done=done)


@router.post("/admin/users/{user_id}/role", response_model=None)
def change_role(request: Request, visitor: Admin, form: CheckedForm, user_id: int) -> Response:
    """Agent and admin trade places; to or from customer, the organisation chosen beside the role goes with it."""
    _check_id(user_id, f"no user {user_id}")
    try:
        role = next((r for r in ROLES if r.value == field(form, "role").strip()), None)
        if role is None:
            raise InvalidFieldError("role", "choose customer, agent or admin")
        organisation_id = _whole_number(field(form, "organisation_id").strip(), "organisation_id")
        with transaction(sessions_of(request)) as session:
            changed = update_user(session, visitor.actor, user_id, {"role": role, "organisation_id": organisation_id})
            done = f"{changed.name} is now {_role_words(role)}."
    except (InvalidFieldError, ConflictError) as error:
        status = 409 if isinstance(error, ConflictError) else 422
        return _user_page(request, user_id, error=error, status_code=status)
    if user_id == visitor.actor.user_id and role is not Role.ADMIN:
        return redirect("/queue", done=done)  # the admin pages are closed to them now
    return redirect(f"/admin/users/{user_id}", done=done)


@router.post("/admin/users/{user_id}/support-contact", response_model=None)
def set_support_contact(request: Request, visitor: Admin, form: CheckedForm, user_id: int) -> Response:
    """Mark a customer as a support contact of their organisation, or no longer."""
    _check_id(user_id, f"no user {user_id}")
    contact = field(form, "support_contact") == "yes"
    try:
        with transaction(sessions_of(request)) as session:
            changed = update_user(session, visitor.actor, user_id, {"support_contact": contact})
            name = changed.name
    except InvalidFieldError as error:
        return _user_page(request, user_id, error=error, status_code=422)
    done = f"{name} is a support contact now." if contact else f"{name} is no longer a support contact."
    return redirect(f"/admin/users/{user_id}", done=done)


def _role_words(role: Role) -> str:
    return {Role.CUSTOMER: "a customer", Role.AGENT: "an agent", Role.ADMIN: "an admin"}[role]


@router.post("/admin/users/{user_id}/tokens", response_model=None)
def issue_token(request: Request, visitor: Admin, form: CheckedForm, user_id: int) -> Response:
    """The secret is in this answer and nowhere else: it is not stored, so it cannot be shown again."""
    name = field(form, "name").strip()
    try:
        if not name or len(name) > 200:
            raise InvalidFieldError("name", "give the token a name of at most 200 characters, to know it by")
        expires_at = _start_of_day(field(form, "expires_on").strip(), zone_of(visitor))
        with transaction(sessions_of(request)) as session:
            issued = accounts.issue_token_for(session, visitor.actor, user_id, name, now_of(request), expires_at)
    except (InvalidFieldError, ConflictError) as error:
        return _user_page(request, user_id, error=error, status_code=409 if isinstance(error, ConflictError) else 422)
    return _user_page(request, user_id, issued=issued)


def _start_of_day(text: str, zone: ZoneInfo) -> datetime | None:
    """The first instant of the date `text` (2027-01-31) in `zone`; None for no date."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidFieldError("expires_on", f"{text!r} is not a date like 2027-01-31") from None
    return datetime.combine(day, time(0), tzinfo=zone)


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke", response_model=None)
def revoke_token(request: Request, visitor: Admin, form: CheckedForm, user_id: int, token_id: int) -> Response:
    with transaction(sessions_of(request)) as session:
        accounts.revoke_token(session, visitor.actor, user_id, token_id)
    return redirect(f"/admin/users/{user_id}", done="Token revoked: it signs in no more.")


# teams


@router.get("/admin/teams")
def teams(request: Request, visitor: Admin) -> HTMLResponse:
    return _teams_page(request, {"slug": "", "name": ""})


@router.post("/admin/teams/new", response_model=None)
def create_team_page(request: Request, visitor: Admin, form: CheckedForm) -> Response:
    values = {name: field(form, name).strip() for name in ("slug", "name")}
    try:
        with transaction(sessions_of(request)) as session:
            team = team_services.create_team(
                session, visitor.actor, values["slug"], values["name"], now=now_of(request)
            )
            slug, name = team.slug, team.name
    except (InvalidFieldError, ConflictError) as error:
        return _teams_page(request, values, error)
    return redirect(f"/admin/teams/{slug}", done=f"Team {name} created.")


def _teams_page(request: Request, values: dict[str, str], error: SladeskError | None = None) -> HTMLResponse:
    visitor = request.scope["visitor"]
    with reading(sessions_of(request)) as session:
        known = team_services.list_teams(session, visitor.actor)
    context = {
        "title": "Teams",
        "teams": known,
        "values": values,
        "error": error,
        "error_field": getattr(error, "field", None),
    }
    status = 200 if error is None else 409 if isinstance(error, ConflictError) else 422
    return render(request, "admin/teams.html", context, status_code=status)


@router.get("/admin/teams/{slug}")
def team(request: Request, visitor: Admin, slug: str) -> HTMLResponse:
    return _team_page(request, slug)


@router.post("/admin/teams/{slug}", response_model=None)
def rename_team_page(request: Request, visitor: Admin, form: CheckedForm, slug: str) -> Response:
    try:
        with transaction(sessions_of(request)) as session:
            team_services.rename_team(session, visitor.actor, slug, field(form, "name"))
    except InvalidFieldError as error:
        return _team_page(request, slug, error=error, name=field(form, "name"), status_code=422)
    return redirect(f"/admin/teams/{slug}", done="Team renamed.")


@router.post("/admin/teams/{slug}/members", response_model=None)
def add_member_page(request: Request, visitor: Admin, form: CheckedForm, slug: str) -> Response:
    try:
        user_id = _whole_number(field(form, "user_id").strip(), "user_id")
        if user_id is None:
            raise InvalidFieldError("user_id", "choose an agent or admin to add")
        with transaction(sessions_of(request)) as session:
            view, _ = team_services.add_member(session, visitor.actor, slug, user_id)
            added = next(member.name for member in view.members if member.id == user_id)
            team_name = view.name
    except InvalidFieldError as error:
        return _team_page(request, slug, error=error, status_code=422)
    return redirect(f"/admin/teams/{slug}", done=f"{added} is in {team_name} now.")


@router.post("/admin/teams/{slug}/members/{user_id}/remove", response_model=None)
def remove_member_page(request: Request, visitor: Admin, form: CheckedForm, slug: str, user_id: int) -> Response:
    _check_id(user_id, f"user {user_id} is not a member of team {slug!r}")
    with transaction(sessions_of(request)) as session:
        view = team_services.remove_member(session, visitor.actor, slug, user_id)
        team_name = view.name
    return redirect(f"/admin/teams/{slug}", done=f"Removed from {team_name}.")


def _team_page(
    request: Request,
    slug: str,
    *,
    error: SladeskError | None = None,
    name: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    visitor = request.scope["visitor"]
    with reading(sessions_of(request)) as session:
        view = team_services.get_team(session, visitor.actor, slug)
        staff = [
            user
            for role in (Role.AGENT, Role.ADMIN)
            for user in accounts.list_users(session, visitor.actor, role=role, limit=1000)
            if user.active
        ]
    members = {member.id for member in view.members}
    context = {
        "title": f"Team {view.name}",
        "team": view,
        "name": view.name if name is None else name,
        "candidates": sorted((u for u in staff if u.id not in members), key=lambda u: (u.name, u.id)),
        "error": error,
        "error_field": getattr(error, "field", None),
    }
    return render(request, "admin/team.html", context, status_code=status_code)


# the outbox


@router.get("/admin/outbox")
def outbox(request: Request, visitor: Admin) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        messages = admin_views.failed_deliveries(session, visitor.actor)
        depth = delivery.outbox_depth(session)
    context = {
        "title": "Failed deliveries",
        "messages": messages,
        "depth": depth,
        "recipient_of": admin_views.recipient_of,
    }
    return render(request, "admin/outbox.html", context)


@router.post("/admin/outbox/{message_id}/retry", response_model=None)
def retry(request: Request, visitor: Admin, form: CheckedForm, message_id: int) -> Response:
    _check_id(message_id, f"no outbox message {message_id}")
    with transaction(sessions_of(request)) as session:
        message = delivery.retry_message(session, visitor.actor, message_id, now_of(request))
        key = message.idempotency_key
    return redirect("/admin/outbox", done=f"Message {message_id} ({key}) will be sent again now.")


# policies


@router.get("/admin/policies")
def policy_list(request: Request, visitor: Admin) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        known = policies.all_policies(session)
    return render(request, "admin/policies.html", {"title": "Policies", "policies": known})


@router.get("/admin/policies/{policy_id}")
def policy_page(
    request: Request, visitor: Admin, policy_id: str, week: str = "", version: int | None = None
) -> HTMLResponse:
    if version is not None:
        _check_id(version, f"no version {version} of policy {policy_id!r} is stored")
    with reading(sessions_of(request)) as session:
        current, _ = _policy_and_source(session, policy_id)
        policy, source = _policy_and_source(session, policy_id, version)
        versions = policies.versions_of(session, policy_id)
        uploaders = admin_views.user_names(session, visitor.actor, {v.uploaded_by_id for v in versions})
    if week:
        try:
            shown = date.fromisoformat(week)
        except ValueError:
            raise InvalidFieldError("week", f"{week!r} is not a date like 2026-12-21") from None
        if not FIRST_WEEK <= shown <= LAST_WEEK:
            raise InvalidFieldError("week", f"calendars are shown from {FIRST_WEEK} to {LAST_WEEK}")
    else:
        shown = now_of(request).astimezone(policy.tz).date()
    context = {
        "title": f"Policy {policy.name}",
        "policy": policy,
        "current_version": current.version,
        "asked_version": version,
        "severities": admin_views.severity_table(policy, now_of(request)),
        "rules": rules_in_words(policy, now_of(request)),
        "week": admin_views.policy_week(policy, shown),
        "scenarios": admin_views.scenario_run(policy, source),
        "versions": versions,
        "uploaders": uploaders,
    }
    return render(request, "admin/policy.html", context)


def _policy_and_source(session: Session, policy_id: str, version: int | None = None) -> tuple[Policy, str]:
    try:
        return policies.source_of(session, policy_id, version)
    except UnknownPolicyError:
        raise NotFoundError(f"no policy {policy_id!r}") from None


@router.get("/admin/policies/{policy_id}/upload")
def upload_form(request: Request, visitor: Admin, policy_id: str) -> HTMLResponse:
    with reading(sessions_of(request)) as session:
        policy, source = _policy_and_source(session, policy_id)
    return _upload_page(request, policy, source)


@router.post("/admin/policies/{policy_id}/upload", response_model=None)
async def upload(request: Request, visitor: Admin, form: CheckedForm, policy_id: str) -> Response:
    source = await uploaded_policy_text(form)
    return await run_in_threadpool(_store_upload, request, visitor.actor, policy_id, source)


@router.get("/admin/new-policy")
def new_policy_form(request: Request, visitor: Admin) -> HTMLResponse:
    return _upload_page(request, None, "")


@router.post("/admin/new-policy", response_model=None)
async def upload_new_policy(request: Request, visitor: Admin, form: CheckedForm) -> Response:
    source = await uploaded_policy_text(form)
    return await run_in_threadpool(_store_upload, request, visitor.actor, None, source)


async def uploaded_policy_text(form: FormData) -> str:
    """The policy text of an upload form: the chosen file's, else the text box's."""
    source = field(form, "source")
    sent = form.get("file")
    if isinstance(sent, UploadFile) and sent.filename:
        try:
            content = await sent.read(MAX_POLICY_BYTES + 1)
        finally:
            await sent.close()
        if len(content) > MAX_POLICY_BYTES:
            raise InvalidFieldError("file", f"a policy file is at most {MAX_POLICY_BYTES // 1024} KiB")
        try:
            source = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidFieldError("file", "the file is not UTF-8 text; save it as UTF-8 YAML") from None
    return source.replace("\r\n", "\n")


def _upload_page(
    request: Request, policy: Policy | None, source: str, problems: list[Problem] | None = None
) -> HTMLResponse:
    context = {
        "title": f"Upload a new version of {policy.name}" if policy else "Upload a new policy",
        "policy": policy,
        "source": source,
        "lines": source.split("\n") if problems else None,
        "problems": problems or [],
        "by_line": _problems_by_line(problems or []),
    }
    return render(request, "admin/upload.html", context, status_code=422 if problems else 200)


def _store_upload(request: Request, actor: Actor, policy_id: str | None, source: str) -> Response:
    """Check the text and store it as a new version, or show every problem against its line (nothing stored).

    With a `policy_id` the text must be a version of that policy; without, it may be any policy, new or not.
    """
    problems: list[Problem] = []
    policy = None
    if policy_id is not None:
        with reading(sessions_of(request)) as session:
            policy, _ = _policy_and_source(session, policy_id)
    if not source.strip():
        problems.append(Problem(policies.UPLOAD_NAME, None, "", "paste the policy's YAML or choose its file"))
    elif len(source.encode()) > MAX_POLICY_BYTES:
        problems.append(Problem(policies.UPLOAD_NAME, None, "", f"at most {MAX_POLICY_BYTES // 1024} KiB"))
    else:
        try:
            with transaction(sessions_of(request)) as session:
                checked = policies.upload_policy(session, actor, source, dry_run=True)
                if policy_id is not None and checked.id != policy_id:
                    message = f"this page uploads versions of {policy_id!r}; the text's id is {checked.id!r}"
                    raise InvalidFieldError("id", message)
                uploaded = policies.upload_policy(session, actor, source, now=now_of(request))
        except PolicyError as error:
            problems.extend(error.problems)
        except (InvalidFieldError, ConflictError) as error:
            field_name = getattr(error, "field", "")
            message = str(error).removeprefix(f"{field_name}: ")
            problems.append(Problem(policies.UPLOAD_NAME, _line_of_key(source, field_name), field_name, message))
    if problems:
        return _upload_page(request, policy, source, problems)
    done = f"Version {uploaded.version} stored: it is the current version now."
    return redirect(f"/admin/policies/{quote(uploaded.id)}", done=done)


def _line_of_key(source: str, key: str) -> int | None:
    """The line of a top-level `key:` in the text, for a problem the checks name by field only."""
    if not key:
        return None
    for number, line in enumerate(source.split("\n"), start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


def _problems_by_line(problems: list[Problem]) -> dict[int, list[Problem]]:
    by_line: dict[int, list[Problem]] = {}
    for problem in problems:
        if problem.line is not None:
            by_line.setdefault(problem.line, []).append(problem)
    return by_line
