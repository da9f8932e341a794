"""From raw judge text to a scored judgment: verdicts come only from :func:`reward_fns.parse_verdict`.

Every judgment is parsed in both modes (strict is what training rewards, lenient is reported beside
it). A judgment with no verdict (a parse failure, or a request that was skipped as over-long or
rejected by the server) scores ``failure_score``: 0 by default (no verdict is not a correct verdict),
or 0.5 to reproduce the official RewardBench generative runner. The rule is one flag, and every
report prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eval.runner import Judgment, Outcome
from reward_fns import parse_verdict
from reward_fns.verdict import MODES

FAILURE_SCORES: dict[str, float] = {"0": 0.0, "0.5": 0.5}  # --parse-failure-score -> what no verdict scores


@dataclass(frozen=True, slots=True)
class Verdict:
    """A parsed verdict: ``label`` ('A'/'B') or the ``failure`` reason (a Failure value or a skip reason)."""

    label: str | None
    failure: str | None


@dataclass(frozen=True, slots=True)
class ScoredJudgment:
    """One judgment with its verdict in each parse mode."""

    item_id: str  # the comparison's id (the item's own id when the item is one comparison)
    tag: str  # position of the preferred answer ('A' or 'B')
    key: str
    finish_reason: str | None
    skipped: str | None
    strict: Verdict
    lenient: Verdict
    detail: str | None = None  # why there is no generation: the server's reject reason, the length check

    def verdict(self, mode: str) -> Verdict:
        return self.strict if mode == "strict" else self.lenient

    def correct(self, mode: str) -> bool:
        return self.verdict(mode).label == self.tag

    def score(self, mode: str, failure_score: float) -> float:
        """1 for the preferred answer, 0 for the other, ``failure_score`` without a verdict."""
        label = self.verdict(mode).label
        if label is None:
            return failure_score
        return 1.0 if label == self.tag else 0.0


def score_judgments(judgments: Sequence[Judgment], outcomes: Mapping[str, Outcome]) -> list[ScoredJudgment]:
    """Parse every judgment's raw text in both modes (each unique text is parsed once)."""
    parsed: dict[str, tuple[Verdict, Verdict]] = {}
    out = []
    for judgment in judgments:
        outcome = outcomes[judgment.key]
        verdicts = parsed.get(judgment.key)
        if verdicts is None:
            verdicts = parsed[judgment.key] = _verdicts(outcome)
        out.append(ScoredJudgment(judgment.item_id, judgment.tag, judgment.key, outcome.finish_reason,
                                  outcome.skipped, verdicts[0], verdicts[1], outcome.detail))
    return out


def _verdicts(outcome: Outcome) -> tuple[Verdict, Verdict]:
    if outcome.text is None:
        skipped = Verdict(None, outcome.skipped or "missing")
        return skipped, skipped
    strict, lenient = (Verdict(parsed.label, None if parsed.failure is None else parsed.failure.value)
                       for parsed in (parse_verdict(outcome.text, mode) for mode in MODES))
    return strict, lenient
