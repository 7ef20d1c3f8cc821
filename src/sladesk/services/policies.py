"""Policies in the store: admins upload new versions, tickets keep the version they were opened under.

A policy id names either a built-in (shipped with sladesk) or one an admin uploaded; an upload may also
give a built-in id a new version. Each version's YAML is kept in `policy_versions` and never changed,
and a built-in's text is copied there the first time a ticket is opened under it, so every ticket's SLA
can be recomputed from the exact rules it was opened with, whatever later releases or uploads change.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sladesk.errors import SladeskError, UnknownPolicyError
from sladesk.policy import BUILTIN_IDS, Policy, builtin_source, load_policy, policy_from_text
from sladesk.services.actors import Actor, Role
from sladesk.services.errors import ConflictError, ForbiddenError, InvalidFieldError, NotFoundError
from sladesk.store.tables import PolicyVersion

UPLOAD_NAME = "uploaded policy"

COMPILED_LIMIT = 256  # compiled policy texts kept per desk; the oldest is dropped past this


class PolicyCache:
    """The stored policy versions one desk has compiled, shared by every thread that serves it.

    A stored version never changes, so (policy id, version) names one text (its sha256) forever, and a
    text is parsed and compiled once. The session factory of the desk holds the cache (`make_sessions`
    puts a place for it in the factory's `info`), so it lives and dies with the app that owns the factory.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, int], str] = {}
        self._compiled: dict[str, Policy] = {}

    def sha256_of(self, policy_id: str, version: int) -> str | None:
        return self._versions.get((policy_id, version))

    def remember(self, policy_id: str, version: int, sha256: str) -> None:
        with self._lock:
            self._versions[(policy_id, version)] = sha256

    def compiled(self, sha256: str) -> Policy | None:
        return self._compiled.get(sha256)

    def compile(self, sha256: str, name: str, source: str) -> Policy:
        """The text compiled, once: a thread that finds it compiled meanwhile takes that one."""
        found = self._compiled.get(sha256)
        if found is not None:
            return found
        policy = policy_from_text(source, name)
        with self._lock:
            found = self._compiled.get(sha256)
            if found is not None:
                return found
            if len(self._compiled) >= COMPILED_LIMIT:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[sha256] = policy
        return policy


def policy_cache(session: Session) -> PolicyCache:
    """The desk's policy cache, held by its session factory (a fresh one for a factory that keeps none)."""
    caches = session.info.get("caches")
    if caches is None:
        caches = session.info["caches"] = {}
    cache: PolicyCache = caches.setdefault("policies", PolicyCache())
    return cache


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a policy, without its text."""

    policy_id: str
    version: int
    sha256: str
    builtin: bool
    uploaded_by_id: int | None
    created_at: datetime | None  # None: shipped with sladesk and not used by a ticket yet


def policy_at(session: Session, policy_id: str, version: int) -> Policy:
    """The policy exactly as it was at `version` (a ticket's pinned rules)."""
    cache = policy_cache(session)
    sha256 = cache.sha256_of(policy_id, version)
    if sha256 is not None and (policy := cache.compiled(sha256)) is not None:
        return policy
    row = session.get(PolicyVersion, (policy_id, version))
    if row is not None:
        policy = cache.compile(row.sha256, f"{policy_id}.yaml (version {version})", row.source)
        cache.remember(policy_id, version, row.sha256)
        return policy
    if policy_id in BUILTIN_IDS and load_policy(policy_id).version == version:
        return load_policy(policy_id)  # opened before versions were stored: the shipped file is that version
    raise NotFoundError(f"no version {version} of policy {policy_id!r} is stored")


def current_policy(session: Session, policy_id: str) -> Policy:
    """The newest version of a policy: the latest upload, or the built-in when it is newer."""
    stored = _latest_version(session, policy_id)
    builtin = load_policy(policy_id) if policy_id in BUILTIN_IDS else None
    if stored is None and builtin is None:
        raise UnknownPolicyError(f"unknown policy {policy_id!r}: not a built-in nor an uploaded policy")
    if stored is not None and (builtin is None or stored >= builtin.version):
        return policy_at(session, policy_id, stored)
    assert builtin is not None
    return builtin


def pin_policy(session: Session, policy_id: str) -> Policy:
    """The current policy, with its text stored if it is a built-in not stored yet (before a ticket uses it)."""
    policy = current_policy(session, policy_id)
    cache = policy_cache(session)
    if cache.sha256_of(policy.id, policy.version) is not None:
        return policy
    if policy.id in BUILTIN_IDS and session.get(PolicyVersion, (policy.id, policy.version)) is None:
        source = builtin_source(policy.id)
        sha256 = _sha256(source)
        try:
            with session.begin_nested():  # a concurrent first ticket may store the same text first
                session.add(
                    PolicyVersion(
                        policy_id=policy.id,
                        version=policy.version,
                        source=source,
                        sha256=sha256,
                        builtin=True,
                        uploaded_by_id=None,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            pass  # stored by the other transaction: the same shipped text
        cache.remember(policy.id, policy.version, sha256)
    return policy


def upload_policy(
    session: Session, actor: Actor, source: str, *, dry_run: bool = False, now: datetime | None = None
) -> Policy:
    """Check a policy's YAML and store it as the policy's new version (admins only).

    Every problem in the text is reported at once (PolicyError, with lines). The file's `version` must be
    above the current one, so a version, once stored, always means the same rules.
    """
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only admins upload policies")
    policy = policy_from_text(source, UPLOAD_NAME)
    current = _current_version(session, policy.id)
    if current is not None and policy.version <= current:
        raise InvalidFieldError(
            "version",
            f"policy {policy.id!r} is at version {current} already; give the new text version: {current + 1}",
        )
    if dry_run:
        return policy
    session.add(
        PolicyVersion(
            policy_id=policy.id,
            version=policy.version,
            source=source,
            sha256=_sha256(source),
            builtin=False,
            uploaded_by_id=actor.user_id,
            created_at=now or datetime.now(UTC),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(f"version {policy.version} of policy {policy.id!r} was stored meanwhile") from None
    return policy


def all_policies(session: Session) -> list[Policy]:
    """The current version of every policy: the built-ins, then uploads by id."""
    uploaded = session.scalars(select(PolicyVersion.policy_id).distinct()).all()
    ids = list(BUILTIN_IDS) + sorted(set(uploaded) - set(BUILTIN_IDS))
    return [current_policy(session, policy_id) for policy_id in ids]


def versions_of(session: Session, policy_id: str) -> list[VersionInfo]:
    """The stored versions of a policy, newest first; a built-in not used yet lists its shipped version."""
    current = current_policy(session, policy_id)
    rows = session.scalars(
        select(PolicyVersion).where(PolicyVersion.policy_id == policy_id).order_by(PolicyVersion.version.desc())
    ).all()
    versions = [VersionInfo(r.policy_id, r.version, r.sha256, r.builtin, r.uploaded_by_id, r.created_at) for r in rows]
    if not versions or versions[0].version < current.version:
        source = builtin_source(policy_id)
        shipped = VersionInfo(policy_id, current.version, _sha256(source), True, None, None)
        versions.insert(0, shipped)
    return versions


def source_of(session: Session, policy_id: str, version: int | None = None) -> tuple[Policy, str]:
    """A policy version and its YAML text, exactly as stored (the current version by default)."""
    policy = current_policy(session, policy_id) if version is None else policy_at(session, policy_id, version)
    row = session.get(PolicyVersion, (policy.id, policy.version))
    return policy, row.source if row is not None else builtin_source(policy.id)


def _latest_version(session: Session, policy_id: str) -> int | None:
    return session.scalar(
        select(PolicyVersion.version)
        .where(PolicyVersion.policy_id == policy_id)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )


def _current_version(session: Session, policy_id: str) -> int | None:
    try:
        return current_policy(session, policy_id).version
    except SladeskError:
        return None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
