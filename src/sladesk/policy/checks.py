"""Cross-references a field validator cannot see: ids that must name a calendar, status or metric."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sladesk.clock.holidays import Offset, parse_date_rule
from sladesk.policy.model import ELAPSED, ConditionSpec, PolicySpec, StatusKind, TargetFields

Location = tuple[str | int, ...]


def reference_problems(
    spec: PolicySpec, broken: Collection[str] = (), document: Mapping[str, Any] | None = None
) -> list[tuple[Location, str]]:
    """Every broken reference in a policy, with where it is.

    `spec` may be partial: the top-level fields named in `broken` failed validation and are left empty.
    Their ids are then read from the raw `document` where it is clear enough, and references into a
    section too broken to read are not checked, rather than reported as unknown.
    """
    problems: list[tuple[Location, str]] = []

    def known_ids(section: str, valid: set[str]) -> set[str] | None:
        return _raw_ids(document, section) if section in broken else valid

    calendars = known_ids("calendars", set(spec.calendars))
    statuses = known_ids("statuses", {s.id for s in spec.statuses})
    metrics = known_ids("metrics", set(spec.metrics))

    def need(kind: str, known: set[str] | None, value: str, where: Location) -> None:
        if known is not None and value not in known:
            choices = ", ".join(sorted(known)) or "none defined"
            problems.append((where, f"unknown {kind} {value!r} (known: {choices})"))

    for section, key, valid in (
        (("statuses",), "id", [s.id for s in spec.statuses]),
        (("severities",), "code", [s.code for s in spec.severities]),
        (("tiers",), "id", [t.id for t in spec.tiers]),
        (("categories",), "id", [c.id for c in spec.categories]),
        (("paths",), "id", [p.id for p in spec.paths]),
        (("teams",), "id", [t.id for t in spec.teams]),
        (("intake",), "id", [f.id for f in spec.intake]),
        (("holidays", "rules"), "id", [r.id for r in spec.holidays.rules]),
    ):
        # A section that failed validation is empty in `spec`, so its items are read from the raw document;
        # severities are the exception, kept there item by item (`_partial_severities`).
        from_raw = section[0] in broken and section[0] != "severities"
        values = _raw_values(document, section, key) if from_raw else list(enumerate(valid))
        for index, value, first in _repeats(values):
            problems.append(((*section, index, key), f"{value!r} is defined again (first at {_item(section, first)})"))
    # A severity whose rank cannot be read has a negative stand-in, unique to it.
    ranks = [(index, severity.rank) for index, severity in enumerate(spec.severities) if severity.rank > 0]
    for index, rank, first in _repeats(ranks):
        message = f"rank {rank} is used again (first by {_item(('severities',), first)}); ranks must differ"
        problems.append((("severities", index, "rank"), message))

    holiday_ids = known_ids("holidays", {r.id for r in spec.holidays.rules})
    for index, rule in enumerate(spec.holidays.rules):
        parsed = parse_date_rule(rule.on) if rule.on else None
        if isinstance(parsed, Offset):
            need("holiday", holiday_ids, parsed.rule_id, ("holidays", "rules", index, "on"))

    for name, calendar in spec.calendars.items():
        if calendar.business_day is not None and calendar.business_day.business_days:
            problems.append((("calendars", name, "business_day"), "give the working day in hours, like 9h"))
        for index, member in enumerate(calendar.union):
            need("calendar", calendars, member, ("calendars", name, "union", index))
    problems.extend(_union_cycles(spec))

    if "statuses" not in broken and not any(s.kind is StatusKind.NEW for s in spec.statuses):
        problems.append((("statuses",), "no status has kind `new`: a ticket needs a status to start in"))
    for source, targets in spec.transitions.items():
        need("status", statuses, source, ("transitions", source))
        for index, target in enumerate(targets):
            need("status", statuses, target, ("transitions", source, index))
    for index, status in enumerate(spec.customer_reply.moves_from):
        need("status", statuses, status, ("customer_reply", "moves_from", index))
    if spec.customer_reply.to is not None:
        need("status", statuses, spec.customer_reply.to, ("customer_reply", "to"))
    for index, status in enumerate(spec.reopen.allowed_from):
        need("status", statuses, status, ("reopen", "allowed_from", index))
    if spec.reopen.to is not None:
        need("status", statuses, spec.reopen.to, ("reopen", "to"))
    if spec.auto_close is not None:
        for index, status in enumerate(spec.auto_close.from_statuses):
            need("status", statuses, status, ("auto_close", "from_statuses", index))
        need("status", statuses, spec.auto_close.to, ("auto_close", "to"))
        need("calendar", calendars, spec.auto_close.calendar, ("auto_close", "calendar"))

    for name, metric in spec.metrics.items():
        need("calendar", calendars, metric.calendar, ("metrics", name, "calendar"))
        _check_start(metric.start, name, metrics, ("metrics", name, "start"), problems)
        for index, status in enumerate(metric.pause_statuses):
            need("status", statuses, status, ("metrics", name, "pause_statuses", index))

    categories = known_ids("categories", {c.id for c in spec.categories})
    tiers = known_ids("tiers", {t.id for t in spec.tiers})
    paths = known_ids("paths", {p.id for p in spec.paths})
    codes = {severity.code for severity in spec.severities}

    def check_when(when: ConditionSpec, at: Location, intake_allowed: bool) -> None:
        for field, known, kind in (
            ("category", categories, "category"),
            ("tier", tiers, "tier"),
            ("path", paths, "resolution path"),
        ):
            for index, value in enumerate(getattr(when, field)):
                need(kind, known, value, (*at, "when", field, index))
        lowered = {code.lower() for code in codes}
        for index, code in enumerate(when.severity):
            if "severities" not in broken and code.lower() not in lowered:
                known_codes = ", ".join(sorted(codes))
                problems.append(((*at, "when", "severity", index), f"no severity {code!r} (known: {known_codes})"))
        if when.intake and not intake_allowed:
            message = "a target case looks at category, tier, path and severity; intake answers route, not time"
            problems.append(((*at, "when", "intake"), message))
        fields = {f.id: f for f in spec.intake}
        for field_id, values in when.intake.items():
            if field_id not in fields:
                need("intake field", set(fields), field_id, (*at, "when", "intake", field_id))
            elif fields[field_id].choices:
                for index, value in enumerate(values):
                    if value not in fields[field_id].choices:
                        message = f"{value!r} is not one of the field's choices ({', '.join(fields[field_id].choices)})"
                        problems.append(((*at, "when", "intake", field_id, index), message))

    def check_target(metric_id: str, target: TargetFields, at: Location) -> None:
        if target.calendar is not None:
            need("calendar", calendars, target.calendar, (*at, "calendar"))
        if target.start is not None:
            _check_start(target.start, metric_id, metrics, (*at, "start"), problems)
        if target.informational and target.due is not None and target.goal is not None:
            problems.append((at, "an informational target tracks one aim: give `due` only"))
        elif target.due is None and target.releases is None and target.goal is not None and not target.informational:
            problems.append((at, "a goal needs a due target beside it"))
        if target.releases is not None and spec.releases is None and "releases" not in broken:
            problems.append(((*at, "releases"), "a target in release versions needs the policy's `releases` calendar"))

    for s_index, severity in enumerate(spec.severities):
        for metric_id, metric_target in severity.targets.items():
            at: Location = ("severities", s_index, "targets", metric_id)
            need("metric", metrics, metric_id, at)
            check_target(metric_id, metric_target, at)
            for c_index, case in enumerate(metric_target.cases):
                case_at: Location = (*at, "cases", c_index)
                check_when(case.when, case_at, intake_allowed=False)
                check_target(metric_id, case, case_at)
        if severity.pages_within is not None:
            need("calendar", calendars, severity.pages_within, ("severities", s_index, "pages_within"))
        if severity.comms_update is not None:
            calendar_at: Location = ("severities", s_index, "comms_update", "calendar")
            need("calendar", calendars, severity.comms_update.calendar, calendar_at)

    for t_index, tier in enumerate(spec.tiers):
        for metric_id, tier_target in (tier.targets or {}).items():
            tier_at: Location = ("tiers", t_index, "targets", metric_id)
            need("metric", metrics, metric_id, tier_at)
            check_target(metric_id, tier_target, tier_at)
            if tier_target.cases:
                problems.append(((*tier_at, "cases"), "a tier's own target has no cases: put cases on severities"))
    teams = known_ids("teams", {t.id for t in spec.teams})
    for r_index, routing in enumerate(spec.routing):
        check_when(routing.when, ("routing", r_index), intake_allowed=True)
        need("team", teams, routing.team, ("routing", r_index, "team"))
    provisional = spec.severity_assignment.provisional
    lowered_codes = {code.lower() for code in codes}
    if provisional is not None and "severities" not in broken and provisional.lower() not in lowered_codes:
        known_codes = ", ".join(sorted(codes))
        problems.append((("severity_assignment", "provisional"), f"no severity {provisional!r} (known: {known_codes})"))
    if ELAPSED in spec.calendars:
        message = f"the calendar id {ELAPSED!r} is kept for elapsed time (every hour of every day): choose another"
        problems.append((("calendars", ELAPSED), message))

    for r_index, notification in enumerate(spec.notifications):
        for index, metric_id in enumerate(notification.metrics):
            need("metric", metrics, metric_id, ("notifications", r_index, "metrics", index))
        for index, code in enumerate(notification.severities):
            if code not in codes:
                known = ", ".join(sorted(codes))
                problems.append(
                    (("notifications", r_index, "severities", index), f"no severity {code!r} (known: {known})")
                )
    if spec.overload_notice is not None and spec.overload_notice.when is not None:
        for index, metric_id in enumerate(spec.overload_notice.when.metrics):
            need("metric", metrics, metric_id, ("overload_notice", "when", "metrics", index))
    return problems


def _repeats(values: Sequence[tuple[int, object]]) -> list[tuple[int, object, int]]:
    """(index, value, index of its first occurrence) for every value seen before, in order."""
    first_at: dict[object, int] = {}
    repeats = []
    for index, value in values:
        if value in first_at:
            repeats.append((index, value, first_at[value]))
        else:
            first_at[value] = index
    return repeats


def _item(section: Location, index: int) -> str:
    return ".".join(str(part) for part in section) + f"[{index}]"


def _raw_values(document: Mapping[str, Any] | None, section: Location, key: str) -> list[tuple[int, object]]:
    """(index, value of `key`) of the items of a list in the raw document that have a readable one."""
    raw: Any = document
    for part in section:
        raw = raw.get(part) if isinstance(raw, Mapping) else None
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    return [
        (index, item[key])
        for index, item in enumerate(raw)
        if isinstance(item, Mapping) and isinstance(item.get(key), str)
    ]


def _raw_ids(document: Mapping[str, Any] | None, section: str) -> set[str] | None:
    """The ids a section that failed validation defines, or None when they cannot be told."""
    raw = document.get(section) if document is not None else None
    if section == "holidays":
        raw = raw.get("rules", ()) if isinstance(raw, Mapping) else None
    if section in ("calendars", "metrics"):
        return {str(key) for key in raw} if isinstance(raw, Mapping) else None
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return None
    found = set()
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            return None
        found.add(item["id"])
    return found


def _check_start(
    start: str, metric: str, metrics: set[str] | None, where: Location, problems: list[tuple[Location, str]]
) -> None:
    if start == "opened":
        return
    if start == metric:
        problems.append((where, f"metric {metric!r} cannot start when it stops itself"))
    elif metrics is not None and start not in metrics:
        problems.append((where, f"start {start!r} is neither `opened` nor a metric of this policy"))


def _union_cycles(spec: PolicySpec) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    for name in spec.calendars:
        stack, seen = [name], set()
        while stack:
            current = stack.pop()
            calendar = spec.calendars.get(current)
            if calendar is None:
                continue
            for member in calendar.union:
                if member == name:
                    problems.append((("calendars", name, "union"), f"calendar {name!r} is a member of itself"))
                    stack = []
                    break
                if member not in seen:
                    seen.add(member)
                    stack.append(member)
    return problems
