"""How often the severity suggestion agrees with the policies' own labels, and how fast it answers.

Two figures, each per built-in policy and in all:

1. leave-one-out over the seeds' examples: each example of each severity is held out of the index, its text
   is triaged, and it agrees when the suggestion is the severity it is listed under;
2. the forty labelled ticket texts of `benchmarks/triage_labelled.yaml` (eight per policy, written and labelled
   from the definitions before the suggestion was run on them).

Run: `python benchmarks/triage.py` (`--misses` lists every disagreement with its scores).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from sladesk.policy import BUILTIN_IDS, Policy, SeveritySpec, load_policy
from sladesk.triage import Suggestion, build_index, suggest_from_index, suggest_severity

LABELLED = Path(__file__).with_name("triage_labelled.yaml")


@dataclass(frozen=True)
class Trial:
    """One text triaged: where it comes from, the severity expected and the suggestion."""

    policy_id: str
    text: str
    expected: str
    suggestion: Suggestion

    @property
    def suggested(self) -> str:
        return self.suggestion.severity.code if self.suggestion.severity else "none"

    @property
    def agrees(self) -> bool:
        return self.suggested == self.expected


def without_example(severities: Iterable[SeveritySpec], code: str, index: int) -> list[SeveritySpec]:
    """The severities with example `index` of severity `code` held out."""
    return [
        s.model_copy(update={"examples": s.examples[:index] + s.examples[index + 1 :]}) if s.code == code else s
        for s in severities
    ]


def leave_one_out(policy: Policy) -> list[Trial]:
    trials = []
    for severity in policy.severities:
        for index, example in enumerate(severity.examples):
            held_out = build_index(without_example(policy.severities, severity.code, index))
            trials.append(Trial(policy.id, example, severity.code, suggest_from_index(held_out, "", example)))
    return trials


def labelled(policies: dict[str, Policy]) -> list[Trial]:
    tickets = YAML(typ="safe").load(LABELLED.read_text(encoding="utf-8"))["tickets"]
    return [
        Trial(
            t["policy"],
            f"{t['subject']} / {t['description']}",
            t["expected"],
            suggest_severity(policies[t["policy"]], t["subject"], t["description"]),
        )
        for t in tickets
    ]


def report(title: str, trials: list[Trial], misses: bool) -> None:
    print(title)
    for policy_id in BUILTIN_IDS:
        mine = [t for t in trials if t.policy_id == policy_id]
        agreed = sum(t.agrees for t in mine)
        print(f"  {policy_id:<12} {agreed:>2}/{len(mine):<2} {agreed / len(mine):6.1%}")
    agreed = sum(t.agrees for t in trials)
    print(f"  {'all':<12} {agreed:>2}/{len(trials):<2} {agreed / len(trials):6.1%}")
    more_severe = sum(t.suggestion.severity is not None and t.suggestion.severity.rank < _rank(t) for t in trials)
    print(f"  of the disagreements, {more_severe} suggest a more severe level than the label")
    if misses:
        for t in trials:
            if not t.agrees:
                scores = ", ".join(f"{c.code} {c.score}" for c in t.suggestion.candidates)
                print(f"    {t.policy_id}: expected {t.expected}, suggested {t.suggested} ({scores}): {t.text}")


def _rank(trial: Trial) -> int:
    return load_policy(trial.policy_id).severity(trial.expected).rank


def timing(policies: dict[str, Policy]) -> None:
    builds = []
    for policy in policies.values():
        started = time.perf_counter()
        build_index(policy.severities)
        builds.append(time.perf_counter() - started)
    policy = policies["aspenware"]
    suggest_severity(policy, "warm", "the cached index is built here")
    text = "Most guests cannot complete checkout since 9:00 and the online shop shows an error. " * 10
    times = []
    for _ in range(200):
        started = time.perf_counter()
        suggest_severity(policy, "Checkout fails", text)
        times.append(time.perf_counter() - started)
    times.sort()
    print("Speed")
    print(f"  building a policy's index: {statistics.median(builds) * 1000:.1f} ms (median of the five)")
    print(
        f"  a suggestion (840 characters, index cached): p50 {times[len(times) // 2] * 1000:.2f} ms, "
        f"p99 {times[int(len(times) * 0.99)] * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every disagreement with its scores")
    arguments = parser.parse_args()
    policies = {policy_id: load_policy(policy_id) for policy_id in BUILTIN_IDS}
    report(
        "1. Leave-one-out over the seeds' examples (each held out of the index)",
        [trial for policy in policies.values() for trial in leave_one_out(policy)],
        arguments.misses,
    )
    report("2. The forty labelled ticket texts (benchmarks/triage_labelled.yaml)", labelled(policies), arguments.misses)
    timing(policies)


if __name__ == "__main__":
    main()
