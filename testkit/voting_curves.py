"""Vote-aggregation rules no eval command uses, kept for the voting tests: accuracy-against-cost curves over
recorded samples, the both-order-consistent majority and pointwise accuracy (eval/voting.py holds the rules
eval runs: majority, the half-point tie, the decided majority and pointwise sums).

* **Both-order-consistent majority**: the majority among the samples shown in order A and the majority
  among those shown in order B must name the same answer; otherwise there is no winner and the
  comparison scores 0 (as the ``both_correct`` view counts an order-dependent verdict).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from eval.voting import TIE_SCORE, Majority, majority


def consistent_majority(votes_by_order: Mapping[str, Sequence[Hashable | None]]) -> Majority:
    """The majority only when every order's own majority names the same answer (else no winner, scored 0)."""
    per_order = [majority(votes) for votes in votes_by_order.values()]
    winners = {m.winner for m in per_order}
    valid = sum(m.valid for m in per_order)
    if len(winners) == 1 and None not in winners:
        return Majority(per_order[0].winner, min(m.margin for m in per_order), valid)
    return _Inconsistent(None, 0, valid)


@dataclass(frozen=True)
class _Inconsistent(Majority):
    """No consistent winner: scores 0 (the orders disagree), whatever the tie rule would say."""

    def score(self, truth: Hashable, failure_score: float = 0.0) -> float:
        return 0.0 if self.valid else failure_score


@dataclass(frozen=True)
class PointwiseAccuracy:
    """Pairwise accuracy from two pointwise scores per comparison, every outcome counted."""

    wins: int  # the better answer scored higher
    ties: int  # equal scores (each counts TIE_SCORE)
    losses: int
    failures: int  # either score missing (each counts the parse-failure score)
    accuracy: float | None


def pointwise_accuracy(pairs: Sequence[tuple[int | None, int | None]], failure_score: float = 0.0
                       ) -> PointwiseAccuracy:
    """Accuracy over (better answer's score, worse answer's score) pairs; ties are half a point."""
    wins = ties = losses = failures = 0
    for better, worse in pairs:
        if better is None or worse is None:
            failures += 1
        elif better > worse:
            wins += 1
        elif better == worse:
            ties += 1
        else:
            losses += 1
    total = len(pairs)
    points = wins + TIE_SCORE * ties + failure_score * failures
    return PointwiseAccuracy(wins, ties, losses, failures, points / total if total else None)


@dataclass(frozen=True)
class Sample:
    """One sampled judgment of a comparison: its vote, the order it was shown in and what it cost."""

    vote: Hashable | None
    order: str
    tokens: int = 0


@dataclass(frozen=True)
class CurvePoint:
    """Accuracy with k samples per comparison, and what those samples cost (judge calls, generated tokens)."""

    k: int
    accuracy: float | None
    calls: int
    tokens: int


def scaling_curve(samples: Mapping[str, Sequence[Sample]], truths: Mapping[str, Hashable], ks: Sequence[int], *,
                  consistent: bool = False, failure_score: float = 0.0) -> list[CurvePoint]:
    """Accuracy against cost when each comparison keeps its first k samples, for every k in ``ks``.

    ``consistent`` uses the both-order-consistent majority instead of the plain one. A k above a
    comparison's sample count is refused (a curve point must spend what it says).
    """
    points = []
    for k in ks:
        short = [cid for cid, drawn in samples.items() if len(drawn) < k]
        if short:
            raise ValueError(f"comparison {short[0]!r} has {len(samples[short[0]])} samples, fewer than k={k}.")
        total, calls, tokens = 0.0, 0, 0
        for cid, drawn in samples.items():
            first = drawn[:k]
            calls += k
            tokens += sum(s.tokens for s in first)
            if consistent:
                by_order: dict[str, list[Hashable | None]] = {}
                for s in first:
                    by_order.setdefault(s.order, []).append(s.vote)
                outcome = consistent_majority(by_order)
            else:
                outcome = majority([s.vote for s in first])
            total += outcome.score(truths[cid], failure_score)
        points.append(CurvePoint(k, total / len(samples) if samples else None, calls, tokens))
    return points
