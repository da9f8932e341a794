"""Aggregating several sampled judgments of one comparison: pure functions, no I/O.

A *vote* names the answer a judgment picked (any hashable id: "1"/"2" as :class:`eval.comparison.Comparison`
writes truths, a candidate index when ranking) or is None when the judgment has no verdict.

Rules (each report states them):

* **Majority**: the answer with the most votes wins; ``margin`` is its lead over the runner-up, in votes.
* **Tie rule**: equal top counts between valid votes have no winner and score ``TIE_SCORE`` (0.5: the
  expectation of breaking the tie with a fair coin, without the coin's variance); no valid vote at all
  scores the run's parse-failure score, so k=1 scores exactly as a run without voting.
* **Decided majority** (what eval's ``--votes`` reports, so every benchmark's own rule sees a verdict):
  a tie goes to the tied answer voted first (the lowest sample index). Over the sample seeds this has
  the same expectation as the half point.
* **Pointwise votes**: each answer's 1-10 scores are summed over the samples where both answers were
  scored; the larger sum wins, equal sums tie (half a point), no such sample is a failure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

TIE_SCORE = 0.5


@dataclass(frozen=True)
class Majority:
    """The outcome of a vote: ``winner`` (None for a tie or no valid vote), its lead and the valid votes cast."""

    winner: Hashable | None
    margin: float
    valid: int

    def score(self, truth: Hashable, failure_score: float = 0.0) -> float:
        """1 if the winner is ``truth``, 0 if another won, TIE_SCORE for a tie, ``failure_score`` without votes."""
        if self.winner is not None:
            return 1.0 if self.winner == truth else 0.0
        return TIE_SCORE if self.valid else failure_score


def majority(votes: Sequence[Hashable | None]) -> Majority:
    """The plain majority of ``votes`` (None votes are not counted)."""
    counts = Counter(v for v in votes if v is not None)
    ranked = counts.most_common()
    if not ranked:
        return Majority(None, 0, 0)
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    lead = ranked[0][1] - runner_up
    return Majority(ranked[0][0] if lead > 0 else None, lead, sum(counts.values()))


def decided(votes: Sequence[Hashable | None]) -> Hashable | None:
    """The majority winner, a tie going to the tied answer voted first; None without a valid vote."""
    counts = Counter(v for v in votes if v is not None)
    top = max(counts.values(), default=0)
    return next((v for v in votes if v is not None and counts[v] == top), None)


def pointwise_votes(samples: Sequence[tuple[int | None, int | None]]) -> Majority:
    """Answer "1" against answer "2" from their 1-10 scores per sample, summed over the samples where both
    were scored (so k=1 is one pointwise comparison: ties half a point); the larger sum wins, equal sums tie."""
    scored = [(a, b) for a, b in samples if a is not None and b is not None]
    if not scored:
        return Majority(None, 0, 0)
    lead = sum(a for a, _ in scored) - sum(b for _, b in scored)
    return Majority("1" if lead > 0 else "2" if lead < 0 else None, abs(lead), len(scored))
