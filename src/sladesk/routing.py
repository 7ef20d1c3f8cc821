"""Which team a new ticket goes to: the first routing rule of its policy whose `when` matches its facts.

Pure: it reads a policy's rules and a ticket's facts and imports nothing from the store, the services or the web.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sladesk.policy.model import ConditionSpec, RoutingRuleSpec


@dataclass(frozen=True)
class TicketFacts:
    """What a routing rule may look at when a ticket opens.

    `severity` holds the severity's code and its rank as text (`S1` and `1`), so a rule may name either.
    """

    severity: tuple[str, ...] = ()
    category: str | None = None
    tier: str | None = None
    path: str | None = None
    intake: Mapping[str, Any] = field(default_factory=dict)


def condition_matches(when: ConditionSpec, facts: TicketFacts) -> bool:
    """Whether every fact `when` lists has one of its values (a fact it lists nothing for matches anything)."""
    if when.category and facts.category not in when.category:
        return False
    if when.tier and facts.tier not in when.tier:
        return False
    if when.path and facts.path not in when.path:
        return False
    if when.severity and not set(when.severity) & set(facts.severity):
        return False
    for question, answers in when.intake.items():
        if answers and str(facts.intake.get(question, "")) not in answers:
            return False
    return True


def routed_team(rules: Sequence[RoutingRuleSpec], facts: TicketFacts) -> str | None:
    """The team id of the first rule that matches `facts`, or None when none does."""
    return next((rule.team for rule in rules if condition_matches(rule.when, facts)), None)
