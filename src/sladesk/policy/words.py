"""A policy's targets and rules in words, the same for `sladesk policy show`, the API and the admin pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sladesk.policy.model import OverloadNoticeSpec, SeveritySpec, TargetCaseSpec
from sladesk.policy.policy import ClockRule, Policy, Situation, describe_condition


@dataclass(frozen=True)
class TargetLine:
    """One metric's target for a severity: the severity's own (`case` None) or one that replaces it."""

    metric_id: str
    metric_name: str
    case: str | None  # "category Software defect, path Needs a new version", "tier Cloud"
    words: str


def rule_words(policy: Policy, rule: ClockRule, now: datetime) -> str:
    """`9h on Business hours, from the first response; goal 2h`, with the next releases for a release target."""
    calendar = calendar_name(policy, rule.calendar_id)
    start = f", from the {rule.start.replace('_', ' ')}" if rule.start != "opened" else ""
    releases = ""
    if rule.releases is not None:
        upcoming = policy.releases_after(now, rule.releases)
        shown = ", ".join(moment.astimezone(policy.tz).strftime("%Y-%m-%d") for moment in upcoming)
        releases = f" (next releases {shown})" if shown else " (the release calendar lists no more releases)"
    if rule.informational:
        aim = f"aim {rule.goal_words}{releases}" if rule.goal_words else "no aim"
        return f"informational, never breached: {aim}, counted on {calendar}{start}"
    if rule.due_words is None:
        return f"no target (counted on {calendar})"
    goal = f"; goal {rule.goal_words}" if rule.goal_words else ""
    where = "" if rule.releases is not None or rule.opening_calendar is not None else f" on {calendar}"
    return f"{rule.due_words}{releases}{where}{start}{goal}"


def target_lines(policy: Policy, severity: SeveritySpec, now: datetime) -> list[TargetLine]:
    """Every target of `severity`: for each metric its own, then each case and tier target that replaces it."""
    lines = []
    for metric_id in policy.metric_ids:
        metric_name = policy.spec.metrics[metric_id].name or metric_id
        lines.append(
            TargetLine(metric_id, metric_name, None, rule_words(policy, policy.clock_rule(severity, metric_id), now))
        )
        own = severity.targets.get(metric_id)
        for case in own.cases if own else ():
            rule = policy.clock_rule(severity, metric_id, _situation_of(case))
            if rule.case != describe_condition(case.when, policy):
                continue  # an earlier case, or the case's own severity condition, takes this ticket
            lines.append(
                TargetLine(metric_id, metric_name, describe_condition(case.when, policy), rule_words(policy, rule, now))
            )
        for tier in policy.spec.tiers:
            if tier.targets is not None:
                rule = policy.clock_rule(severity, metric_id, Situation(tier=tier.id))
                if rule.case == f"tier {tier.name}":
                    lines.append(TargetLine(metric_id, metric_name, rule.case, rule_words(policy, rule, now)))
    return lines


def rules_in_words(policy: Policy, now: datetime) -> list[str]:
    """The policy's rules beyond its targets, one sentence each: who assigns severity, who may open tickets,
    what a closed ticket takes, where tickets are routed, the resolution paths and the next releases."""
    spec = policy.spec
    lines = []
    if spec.severity_assignment.by == "support":
        provisional = spec.severity_assignment.provisional
        lines.append(
            "Severity is assigned by support: a customer's ticket waits in triage, its clocks running on the more"
            f" severe of the requested severity and {provisional}, until an agent confirms one."
        )
    if spec.opening.requires_support_contact:
        hint = f" {spec.opening.hint}" if spec.opening.hint else ""
        lines.append(f"Only an organisation's support contacts open tickets.{hint}")
    if spec.closed.updates == "refused":
        hint = f" {spec.closed.hint}" if spec.closed.hint else ""
        lines.append(f"A closed ticket takes no reply or file: a follow-up ticket is needed.{hint}")
    teams = {team.id: team.name for team in spec.teams}
    for rule in spec.routing:
        when = describe_condition(rule.when, policy)
        if rule.when.intake:
            answers = "; ".join(f"{field} is {' or '.join(values)}" for field, values in rule.when.intake.items())
            when = answers if when == "always" else f"{when}, {answers}"
        lines.append(f"Tickets with {when} go to the {teams.get(rule.team, rule.team)} team's queue.")
    if spec.paths:
        lines.append("Resolution paths staff can mark: " + ", ".join(p.name for p in spec.paths) + ".")
    if spec.overload_notice is not None:
        lines.append(overload_words(spec.overload_notice))
    if spec.releases is not None:
        upcoming = ", ".join(
            m.astimezone(policy.tz).strftime("%a %d %b %Y %H:%M") for m in policy.releases_after(now, 3)
        )
        lines.append(f"Releases: the next are {upcoming or 'not listed'}.")
    return lines


def overload_words(notice: OverloadNoticeSpec) -> str:
    """The overload notice in one sentence: when the desk counts as overloaded and what waiting customers hear."""
    when = f"nobody is on shift in the on-call schedule {notice.schedule}"
    if notice.when is not None:
        share = f"{notice.when.waiting_past * 100:g}%"
        tickets = (
            "1 waiting ticket has" if notice.when.at_least == 1 else f"{notice.when.at_least} waiting tickets have"
        )
        clocks = f" ({', '.join(notice.when.metrics)})" if notice.when.metrics else ""
        when += f", or at least {tickets} used {share} or more of a running target{clocks}"
    return f'When {when}, each ticket waiting on support is told once when the next shift starts: "{notice.text}"'


def calendar_name(policy: Policy, calendar_id: str) -> str:
    """A calendar's own name, else its id (`elapsed` reads "elapsed time")."""
    spec = policy.spec.calendars.get(calendar_id)
    if spec is not None and spec.name:
        return spec.name
    return "elapsed time" if calendar_id == "elapsed" else calendar_id


def _situation_of(case: TargetCaseSpec) -> Situation:
    """A ticket the case matches: the first value of each fact it lists."""
    when = case.when
    return Situation(
        category=when.category[0] if when.category else None,
        tier=when.tier[0] if when.tier else None,
        path=when.path[0] if when.path else None,
    )
