"""Severity suggestions from a ticket's text and the policy's own severity definitions and examples.

Pure: no database, no web, no model to download. `suggest_severity(policy, subject, description)` answers
with the suggested severity, the reasons (the definition clause and the example it matched, quoted) and
every severity's score; see `suggest` for the scores and the close-candidate rule, `index` for the TF-IDF.
"""

from sladesk.triage.index import SeverityIndex, build_index, index_for
from sladesk.triage.passages import Passage, PassageKind, definition_clauses
from sladesk.triage.suggest import (
    CLOSE_MARGIN,
    Candidate,
    Suggestion,
    choose,
    quoted_match,
    suggest_from_index,
    suggest_severity,
)

__all__ = [
    "CLOSE_MARGIN",
    "Candidate",
    "Passage",
    "PassageKind",
    "SeverityIndex",
    "Suggestion",
    "build_index",
    "choose",
    "definition_clauses",
    "index_for",
    "quoted_match",
    "suggest_from_index",
    "suggest_severity",
]
