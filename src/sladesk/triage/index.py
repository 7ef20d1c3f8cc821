"""The searchable form of a policy's severities: TF-IDF vectors of their passages, built once per policy version.

Two TF-IDF views of the same passages are kept: words and word pairs (what a sentence says), and character
n-grams within words (so "sign-in", "signing in" and "sign in" or "outage" and "outages" still meet). A text's
similarity to a passage is the mean of the two cosine similarities. Both are fitted on the policy's own
passages only: no model, no download, nothing read at run time but the policy.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sladesk.policy import Policy, SeveritySpec
from sladesk.triage.passages import Passage, passages_of

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# Words too common to tell severities apart; "not", "no", "all", "every", "some", "down" stay (they do).
STOP_WORDS = (
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "for",
    "and",
    "is",
    "are",
    "be",
    "it",
    "its",
    "this",
    "that",
    "by",
    "as",
    "at",
    "we",
    "our",
    "us",
    "i",
    "my",
    "you",
    "your",
    "has",
    "have",
    "was",
    "were",
)
NEGATIONS = frozenset({"no", "not", "without", "never", "cannot", "nothing", "nobody", "none"})
NEGATED_WORDS = 3  # how many words after a negation it covers (less at a comma or a sentence end)
CACHED_POLICIES = 64  # indexes kept (one per policy version); the least recently used is dropped past this


@dataclass(frozen=True)
class SeverityIndex:
    """A policy's severities and their passages, with the fitted vectorizers and the passages' vectors."""

    severities: tuple[SeveritySpec, ...]  # most severe first
    passages: tuple[Passage, ...]
    words: TfidfVectorizer
    characters: TfidfVectorizer
    word_vectors: object  # sparse matrix, one L2-normalised row per passage
    character_vectors: object

    def similarities(self, text: str) -> NDArray[np.float64]:
        """The text's similarity to each passage, from 0 (nothing shared) to 1, in the order of `passages`."""
        by_words = self.words.transform([text]) @ self.word_vectors.T  # type: ignore[attr-defined]
        by_characters = self.characters.transform([text]) @ self.character_vectors.T  # type: ignore[attr-defined]
        combined = (by_words.toarray()[0] + by_characters.toarray()[0]) / 2
        return np.asarray(combined, dtype=np.float64)


_TOKEN_OR_STOP = re.compile(r"[\w'-]+|[.,;:!?()]")


def mark_negations(text: str) -> str:
    """The text in lower case, with the few words after a negation marked (`without taking down` ->
    `without not_taking not_down`), so "down" in "without taking down the system" does not match "is down"."""
    marked: list[str] = []
    left = 0
    for token in _TOKEN_OR_STOP.findall(text.lower()):
        if not token[0].isalnum() and token[0] not in "'-":
            left = 0
            continue
        if token in NEGATIONS or token.endswith("n't"):
            marked.append(token)
            left = NEGATED_WORDS
        elif left > 0 and token not in STOP_WORDS:
            marked.append(f"not_{token}")
            left -= 1
        else:
            marked.append(token)
    return " ".join(marked)


def build_index(severities: Sequence[SeveritySpec]) -> SeverityIndex:
    """Fit the index on these severities' own definitions and examples."""
    # scikit-learn takes seconds to import: the desk loads it when it first suggests a severity, not at start
    from sklearn.feature_extraction.text import TfidfVectorizer

    ordered = tuple(sorted(severities, key=lambda s: s.rank))
    passages = passages_of(ordered)
    texts = [passage.text for passage in passages]
    words = TfidfVectorizer(
        analyzer="word",
        preprocessor=mark_negations,
        ngram_range=(1, 2),
        stop_words=list(STOP_WORDS),
        sublinear_tf=True,
        token_pattern=r"(?u)[\w'-]+",
    )
    characters = TfidfVectorizer(analyzer="char_wb", preprocessor=mark_negations, ngram_range=(3, 5), sublinear_tf=True)
    word_vectors = words.fit_transform(texts)
    character_vectors = characters.fit_transform(texts)
    return SeverityIndex(ordered, passages, words, characters, word_vectors, character_vectors)


_cache: OrderedDict[tuple[str, int, str], SeverityIndex] = OrderedDict()
_cache_lock = threading.Lock()


def index_for(policy: Policy) -> SeverityIndex:
    """The policy's index, built on first use and kept per policy id, version and severity text."""
    key = (policy.id, policy.version, _fingerprint(policy.severities))
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = build_index(policy.severities)
    with _cache_lock:
        _cache[key] = built
        while len(_cache) > CACHED_POLICIES:
            _cache.popitem(last=False)
    return built


def _fingerprint(severities: Sequence[SeveritySpec]) -> str:
    """A digest of the severities' words: two texts uploaded under one id and version (on two desks) differ."""
    digest = hashlib.sha256()
    for severity in severities:
        for part in (severity.code, str(severity.rank), severity.definition, *severity.examples):
            digest.update(part.encode("utf-8") + b"\x00")
    return digest.hexdigest()
