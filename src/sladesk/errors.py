"""One exception hierarchy for every error a user can act on."""

from __future__ import annotations

from dataclasses import dataclass


class SladeskError(Exception):
    """An error whose message tells the user what to fix; the CLI prints it and exits 2."""


class CalendarError(SladeskError):
    """A calendar definition or a business-time query that cannot be answered."""


@dataclass(frozen=True)
class Problem:
    """One located problem in a policy or scenario file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PolicyError(SladeskError):
    """A policy file that cannot be loaded; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} in policy"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in problems))


class UnknownPolicyError(SladeskError):
    """A policy id that is neither built in nor a readable file."""


class InputError(SladeskError):
    """Bad replay input: names the problem and, where there is one, the event index."""

    def __init__(self, message: str, event_index: int | None = None) -> None:
        self.event_index = event_index
        prefix = f"event {event_index}: " if event_index is not None else ""
        super().__init__(prefix + message)


class StoreError(SladeskError):
    """The database cannot be reached or used; names its URL, never its password."""
