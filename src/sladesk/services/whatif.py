"""What-if reports from the store: a period's tickets replayed under a candidate policy (docs/whatif.md).

A candidate is a stored or built-in policy version (`alleo`, `alleo@2`), or a draft's YAML text checked as
an upload is but never stored, and either may carry overrides: `PATH=VALUE` changes to its fields
(`severities.Sev1.targets.first_response.due=2h`). Nothing is written: the report only reads the
tickets' histories and the policy versions they were opened under.

Override syntax:

- `PATH` is the field's keys from the top of the policy, joined by dots. Where the policy lists items
  (severities, statuses, tiers, ...), the key is the item's `code` or `id` (`severities.Sev1`,
  `statuses.closed`). A key the policy does not set yet is added (`closed.updates=refused`); one that
  is not a field of a policy at the top is refused. Below a severity's or tier's `targets`, a target
  written as one duration (`first_response: 4h`) reads as its mapping (`{due: 4h}`), so `.due`
  and `.goal` reach into it.
- `VALUE` is read as YAML: `2h`, `true`, `07:00-19:00`, `[a, b]`, `{due: 2h, goal: 1h}`; `null`
  clears the field.
- Overrides apply in order; the result is checked as a whole policy, and a problem is reported with the
  override it comes from.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import groupby
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from sladesk.errors import PolicyError, Problem, SladeskError
from sladesk.policy import Policy, PolicySpec, policy_from_text
from sladesk.policy.load import policy_from_document
from sladesk.reports.bulk import replay_many
from sladesk.reports.model import DIMENSIONS, Dimension, Period, TicketLabels
from sladesk.reports.whatif import Comparison, NotComparable, TicketHistory, WhatIfReport, compare_ticket, what_if
from sladesk.reports.whatif_bulk import LabelColumns, WhatIfPairs, bulk_clocks
from sladesk.services.actors import Actor, require_staff
from sladesk.services.clocks import facts_of
from sladesk.services.errors import InvalidFieldError
from sladesk.services.histories import LABEL_COLUMNS, StoredHistories, read_histories
from sladesk.services.policies import current_policy, policy_at, source_of
from sladesk.sla import event_of
from sladesk.store.tables import Organisation, SlaClock, Team, Ticket, TicketEvent, User

DRAFT_NAME = "draft policy"
BATCH = 500  # tickets read from the store at a time
PROGRESS_STEPS = 1000  # a large what-if tells its progress this many times, not after every ticket
BULK_CHUNK = 50_000  # tickets replayed together: the progress moves after each chunk, and memory stays bounded

Progress = Callable[[int, int], None]
"""`progress(done, total)`: told before the first ticket, as tickets are compared and after the last. One at a
time, after each ticket (on a desk of more than `PROGRESS_STEPS` tickets, after every `PROGRESS_STEPS`th part
of them); in bulk, after each chunk of `BULK_CHUNK` tickets replayed together."""


@dataclass(frozen=True)
class Candidate:
    """The rules to replay under: a stored or built-in `version` (`alleo`, `alleo@2`) or a `draft`'s YAML
    text (exactly one of them), with `overrides` (`PATH=VALUE`) applied on top."""

    version: str | None = None
    draft: str | None = None
    overrides: tuple[str, ...] = ()


class OverrideError(InvalidFieldError):
    """An override that cannot apply, or that makes the candidate an invalid policy; names its path."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__("overrides", f"{path}: {message}")


def whatif_report(
    session: Session,
    actor: Actor,
    period: Period,
    candidate: Candidate,
    *,
    policy_id: str | None = None,
    by: Sequence[str] = (),
    now: datetime,
    progress: Progress | None = None,
) -> WhatIfReport:
    """The period's tickets under `policy_id` (default: the candidate's id) replayed under the candidate,
    beside what they got under their own policy versions (staff only; nothing is stored).

    The histories are read as columns and replayed many at once (`reports.bulk.replay_many`), on each side;
    a ticket the bulk replay leaves alone on either side is read and compared one at a time. The report is
    the one `whatif_by_replay` gives.
    """
    return _whatif(session, actor, period, candidate, policy_id, by, now, progress, bulk=True)


def whatif_by_replay(
    session: Session,
    actor: Actor,
    period: Period,
    candidate: Candidate,
    *,
    policy_id: str | None = None,
    by: Sequence[str] = (),
    now: datetime,
    progress: Progress | None = None,
) -> WhatIfReport:
    """`whatif_report` with every ticket read and replayed one at a time, both sides (the reference)."""
    return _whatif(session, actor, period, candidate, policy_id, by, now, progress, bulk=False)


def _whatif(
    session: Session,
    actor: Actor,
    period: Period,
    candidate: Candidate,
    policy_id: str | None,
    by: Sequence[str],
    now: datetime,
    progress: Progress | None,
    *,
    bulk: bool,
) -> WhatIfReport:
    require_staff(actor, "run what-if reports")
    _check_period(period)
    dimensions = _check_by(by)
    policy, words = candidate_policy(session, candidate)
    if bulk:  # the tickets are read with their histories, at once
        stored = read_histories(session, _tickets(policy_id or policy.id, period, now))
        ids: list[int] = stored.ticket_ids.tolist()
    else:
        ids = _ticket_ids(session, policy_id or policy.id, period, now)
    total = len(ids)
    if progress is not None:
        progress(0, total)
    step = max(1, total // PROGRESS_STEPS)

    def told(done: int) -> None:
        if progress is not None and (done % step == 0 or done == total):
            progress(done, total)

    if not bulk:

        def compared() -> Iterator[Comparison | NotComparable | None]:
            for done, ticket in enumerate(_histories(session, ids), start=1):
                yield compare_ticket(ticket, policy, period, now=now)
                told(done)

        report = what_if(compared(), period, dimensions, words)
    else:
        pairs = WhatIfPairs()
        replayed = 0

        def advanced(count: int) -> None:
            nonlocal replayed
            replayed += count
            if progress is not None:
                progress(replayed, total)

        covered = _compare_in_bulk(session, stored, policy, period, now, pairs, advanced)
        one_at_a_time = _histories(session, [i for i in ids if i not in covered])
        ticket = next(one_at_a_time, None)
        for ticket_id in ids:
            if ticket is not None and ticket.ticket_id == ticket_id:  # a ticket without events has no history
                pairs.add(compare_ticket(ticket, policy, period, now=now))
                ticket = next(one_at_a_time, None)
        if progress is not None and replayed != total:  # the tickets without events, and those compared alone
            progress(total, total)
        report = pairs.report(period, dimensions, words)
    return replace(report, names=_names(session, report))


def _compare_in_bulk(
    session: Session,
    stored: StoredHistories,
    candidate: Policy,
    period: Period,
    now: datetime,
    pairs: WhatIfPairs,
    advanced: Callable[[int], None],
) -> set[int]:
    """Compare in `pairs` every ticket both bulk replays cover (the ticket's own version, the candidate),
    `BULK_CHUNK` tickets at a time, telling `advanced` how many after each chunk; which tickets those are."""
    has_events = np.bincount(stored.event_ticket, minlength=len(stored.ticket_ids)) > 0
    covered: set[int] = set()
    versions = sorted(set(zip(stored.policy_id, stored.policy_version.tolist(), strict=True)))
    policy_ids = np.array(stored.policy_id, dtype=object)
    for policy_id, version in versions:
        chosen = np.flatnonzero((policy_ids == policy_id) & (stored.policy_version == version) & has_events)
        if not len(chosen):
            continue
        own = policy_at(session, policy_id, version)
        for start in range(0, len(chosen), BULK_CHUNK):
            rows = chosen[start : start + BULK_CHUNK]
            covered.update(_compare_rows(stored, rows, own, (policy_id, version), candidate, period, now, pairs))
            advanced(len(rows))
    return covered


def _compare_rows(
    stored: StoredHistories,
    rows: np.ndarray[Any, np.dtype[np.intp]],
    own: Policy,
    version: tuple[str, int],
    candidate: Policy,
    period: Period,
    now: datetime,
    pairs: WhatIfPairs,
) -> list[int]:
    """Compare in `pairs` the tickets at `rows` (all under `own`, stored as `version`) that both bulk replays
    cover; their ids."""
    mine, theirs = stored.columns(own, rows), stored.columns(candidate, rows, ranks_of=own)
    actual = bulk_clocks(own, mine, replay_many(own, mine, now), period.end, now)
    judged = bulk_clocks(candidate, theirs, replay_many(candidate, theirs, now), period.end, now)
    labels = LabelColumns(
        organisation_id=stored.organisation_id[rows],
        team_id=stored.team_id[rows],
        assignee_id=stored.assignee_id[rows],
        tier=[stored.tier[row] for row in rows.tolist()],
        policy_id=version[0],
        policy_version=version[1],
    )
    done = pairs.add_bulk(actual, judged, own, labels, period)
    ids: list[int] = stored.ticket_ids[rows][done].tolist()
    return ids


def candidate_policy(session: Session, candidate: Candidate) -> tuple[Policy, str]:
    """The candidate compiled (never stored), and how the report names it."""
    if (candidate.version is None) == (candidate.draft is None):
        raise InvalidFieldError("candidate", "give a policy version (alleo or alleo@2) or a draft's YAML text")
    if candidate.draft is not None:
        base = policy_from_text(candidate.draft, DRAFT_NAME)  # checked as an upload is, every problem at once
        words, source = f"{DRAFT_NAME} {base.id}@{base.version}", candidate.draft
    else:
        assert candidate.version is not None
        base, source = _stored(session, candidate.version)
        words = f"{base.id}@{base.version}"
    if not candidate.overrides:
        return base, words
    document = YAML(typ="safe").load(io.StringIO(source))
    document.pop("tests", None)  # the shipped scenarios check the rules as they were, not as overridden
    located = [apply_override(document, text) for text in candidate.overrides]
    count = len(candidate.overrides)
    words += f" with {count} change{'s' if count != 1 else ''}"
    try:
        return policy_from_document(document, words), words
    except PolicyError as error:
        raise _blame(error.problems, located) from None


def parse_override(text: str) -> tuple[str, list[str], Any]:
    """`PATH=VALUE` as its path text, its keys and its value read as YAML."""
    path, equals, value_text = text.partition("=")
    path = path.strip()
    if not equals or not path:
        raise OverrideError(
            text.strip() or "(empty)",
            "write an override as PATH=VALUE, e.g. severities.Sev1.targets.first_response.due=2h",
        )
    keys = path.split(".")
    if any(not key.strip() for key in keys):
        raise OverrideError(path, "a path is keys joined by single dots, with no empty key")
    keys = [key.strip() for key in keys]
    if not value_text.strip():
        raise OverrideError(path, "give a value after `=` (null clears the field)")
    try:
        value = YAML(typ="safe").load(io.StringIO(value_text.strip()))
    except YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise OverrideError(path, f"the value {value_text.strip()!r} does not read as YAML: {problem}") from None
    return path, keys, value


def apply_override(document: dict[str, Any], text: str) -> tuple[str, str]:
    """Apply one override to the policy's data in place: its path as written and as a problem locates it
    (`severities[0].targets.first_response.due`)."""
    path, keys, value = parse_override(text)
    if keys[0] not in PolicySpec.model_fields:
        known = ", ".join(PolicySpec.model_fields)
        raise OverrideError(path, f"{keys[0]!r} is not a field of a policy (known: {known})")
    node: Any = document
    located = ""
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, dict):
            located += f".{key}" if located else key
            if last:
                node[key] = value
                break
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, dict | list):
                if depth > 0 and keys[depth - 1] == "targets":
                    child = node[key] = _target_mapping(child)
                else:
                    where = ".".join(keys[: depth + 1])
                    raise OverrideError(path, f"{where} is a single value ({child!r}), not fields: set it whole")
            node = child
        elif isinstance(node, list):
            index = _item_index(node, key)
            if index is None:
                where = ".".join(keys[:depth]) or "the policy"
                known = ", ".join(str(_item_name(item)) for item in node) or "none"
                raise OverrideError(path, f"{where} has no item with code or id {key!r} (known: {known})")
            located += f"[{index}]"
            if last:
                node[index] = value
                break
            node = node[index]
        else:  # pragma: no cover - a scalar is turned into fields or refused above
            raise OverrideError(path, f"{'.'.join(keys[:depth])} is a single value, not fields")
    return path, located


def _target_mapping(value: Any) -> dict[str, Any]:
    """A target written as one duration, as the mapping it stands for: `4h` is {due: 4h}, `1-3 business
    days` is {goal: 1 business days, due: 3 business days}."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*(.+)$", str(value))
    if match:
        low, high, unit = match.groups()
        return {"goal": f"{low} {unit}", "due": f"{high} {unit}"}
    return {"due": value}


def _item_index(items: list[Any], key: str) -> int | None:
    for index, item in enumerate(items):
        name = _item_name(item)
        if name is not None and str(name).lower() == key.lower():
            return index
    return None


def _item_name(item: Any) -> Any:
    if isinstance(item, Mapping):
        return item.get("code", item.get("id"))
    return None


def _blame(problems: Sequence[Problem], overrides: Sequence[tuple[str, str]]) -> SladeskError:
    """The candidate's problems, each with the override it comes from where one is to blame."""
    for problem in problems:
        for path, located in overrides:
            field = problem.field
            if (
                field == located
                or field.startswith((located + ".", located + "["))
                or located.startswith((field + ".", field + "["))
            ):
                return OverrideError(path, problem.message)
    listed = "; ".join(f"{p.field or 'the policy'}: {p.message}" for p in problems)
    return InvalidFieldError("overrides", f"with these overrides the candidate is not a valid policy: {listed}")


def _stored(session: Session, reference: str) -> tuple[Policy, str]:
    """A stored or built-in version by `id@version`, or the current one by `id`, with its YAML text."""
    policy_id, at, version_text = reference.strip().partition("@")
    version: int | None = None
    if at:
        if not version_text.isdigit():
            raise InvalidFieldError("candidate", f"{reference!r}: write a version as alleo@2 (a whole number)")
        version = int(version_text)
    try:
        policy = current_policy(session, policy_id) if version is None else policy_at(session, policy_id, version)
        return source_of(session, policy.id, policy.version)
    except SladeskError as error:
        raise InvalidFieldError("candidate", str(error)) from None


def _check_period(period: Period) -> None:
    for name, instant in (("start", period.start), ("end", period.end)):
        if instant.utcoffset() is None:
            raise InvalidFieldError(f"period.{name}", "give an instant with a UTC offset")
    if period.end <= period.start:
        raise InvalidFieldError("period.end", "the period must end after it starts")


def _check_by(by: Sequence[str]) -> tuple[Dimension, ...]:
    dimensions: list[Dimension] = []
    for name in by:
        if name not in DIMENSIONS:
            raise InvalidFieldError("by", f"unknown dimension {name!r} (known: {', '.join(DIMENSIONS)})")
        if name in dimensions:
            raise InvalidFieldError("by", f"{name!r} is given twice")
        dimensions.append(next(d for d in DIMENSIONS if d == name))
    return tuple(dimensions)


def _ticket_ids(session: Session, policy_id: str, period: Period, now: datetime) -> list[int]:
    return list(session.scalars(_tickets(policy_id, period, now).order_by(Ticket.id)))


def _tickets(policy_id: str, period: Period, now: datetime) -> Select[Any]:
    """The tickets whose clocks may count in the period: opened by its end and not all stopped before it
    (the replay then tells exactly which count)."""
    before = min(period.end, now)
    counting = exists().where(
        SlaClock.ticket_id == Ticket.id, or_(SlaClock.stopped_at.is_(None), SlaClock.stopped_at >= period.start)
    )
    return select(Ticket.id).where(
        Ticket.policy_id == policy_id,
        Ticket.opened_at <= before,
        or_(Ticket.opened_at >= period.start, counting),
    )


def _histories(session: Session, ids: Sequence[int]) -> Iterator[TicketHistory]:
    """Each ticket's history and where it sits, read a batch at a time, in id order."""
    policies: dict[tuple[str, int], Policy] = {}
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        tickets = {row.id: row for row in session.execute(select(*LABEL_COLUMNS).where(Ticket.id.in_(batch)))}
        rows = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.at, TicketEvent.data)
            .where(TicketEvent.ticket_id.in_(batch))
            .order_by(TicketEvent.ticket_id, TicketEvent.sequence)
        )
        for ticket_id, group in groupby(rows, key=lambda row: row.ticket_id):
            ticket = tickets[ticket_id]
            key = (ticket.policy_id, ticket.policy_version)
            if key not in policies:
                policies[key] = policy_at(session, *key)
            events = [event_of(kind, at, data) for _, kind, at, data in group]
            yield TicketHistory(
                policy=policies[key],
                facts=facts_of(events),
                events=tuple(events),
                labels=TicketLabels(
                    ticket_id=ticket_id,
                    organisation_id=ticket.organisation_id,
                    team_id=ticket.team_id,
                    assignee_id=ticket.assignee_id,
                    tier=ticket.tier,
                    policy_id=ticket.policy_id,
                    policy_version=ticket.policy_version,
                ),
            )


def _names(session: Session, report: WhatIfReport) -> dict[tuple[Dimension, str], str]:
    """The names behind the organisation, team and assignee ids the report's groups show."""
    wanted: dict[Dimension, set[int]] = {}
    for row in report.rows:
        for dimension, value in row.group:
            if value is not None and dimension in _NAMED:
                wanted.setdefault(dimension, set()).add(int(value))
    names: dict[tuple[Dimension, str], str] = {}
    for dimension, ids in wanted.items():
        table = _NAMED[dimension]
        for row_id, name in session.execute(select(table.id, table.name).where(table.id.in_(sorted(ids)))):
            names[dimension, str(row_id)] = name
    return names


_NAMED: dict[Dimension, Any] = {"organisation": Organisation, "team": Team, "assignee": User}
