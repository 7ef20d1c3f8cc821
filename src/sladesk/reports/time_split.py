"""The time split: how much logged time went to customers' work and how much to internal work.

Sourcegraph gives 80% of support time to customer issues (p1, p2) and 20% to internal work (p3). A
policy splits time this way when some of its severities have targets and some have none: the ones with
none are internal work, with no customer waiting (Sourcegraph's p3). Time logged on a ticket of a
policy that splits time counts as internal when the ticket has one of those severities, else as
customer work; time logged as internal work on no ticket is internal, and belongs to no organisation.
Time on tickets of policies that do not split time is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sladesk.policy import Policy
from sladesk.reports.model import Period


@dataclass(frozen=True)
class LoggedTime:
    """Minutes logged on one day: for an organisation (None: internal work on no ticket), customer or not."""

    organisation_id: int | None
    organisation: str | None
    worked_on: date
    minutes: int
    internal: bool


@dataclass(frozen=True)
class SplitRow:
    """One organisation's logged minutes in the period (None: internal work on no ticket; the total row
    of a split names no organisation either)."""

    organisation_id: int | None
    organisation: str | None
    customer_minutes: int
    internal_minutes: int

    @property
    def total_minutes(self) -> int:
        return self.customer_minutes + self.internal_minutes

    @property
    def customer_share(self) -> float | None:
        """The customer minutes' share of the total, 0 to 1; None with nothing logged."""
        return self.customer_minutes / self.total_minutes if self.total_minutes else None


@dataclass(frozen=True)
class TimeSplit:
    period: Period
    rows: tuple[SplitRow, ...]  # organisations by name, then internal work on no ticket
    total: SplitRow


def internal_severities(policy: Policy) -> frozenset[str] | None:
    """The codes of the policy's internal-work severities (those without targets), or None when the policy
    does not split time (every severity has targets, or none has)."""
    untargeted = frozenset(severity.code for severity in policy.severities if not severity.targets)
    if not untargeted or len(untargeted) == len(policy.severities):
        return None
    return untargeted


def in_period(worked_on: date, period: Period) -> bool:
    """A day of logged time lies in the period when its start, midnight UTC, does."""
    return period.start <= datetime.combine(worked_on, time(), UTC) < period.end


def time_split(entries: Iterable[LoggedTime], period: Period) -> TimeSplit:
    """The minutes logged on days in the period, per organisation and in total."""
    customer: dict[tuple[int | None, str | None], int] = defaultdict(int)
    internal: dict[tuple[int | None, str | None], int] = defaultdict(int)
    for entry in entries:
        if not in_period(entry.worked_on, period):
            continue
        key = (entry.organisation_id, entry.organisation)
        (internal if entry.internal else customer)[key] += entry.minutes
    keys = sorted(set(customer) | set(internal), key=lambda key: (key[0] is None, key[1] or "", key[0] or 0))
    rows = tuple(SplitRow(key[0], key[1], customer[key], internal[key]) for key in keys)
    total = SplitRow(None, None, sum(row.customer_minutes for row in rows), sum(row.internal_minutes for row in rows))
    return TimeSplit(period, rows, total)
