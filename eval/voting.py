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
* **Both-order-consistent majority**: the majority among the samples shown in order A and the majority
  among those shown in order B must name the same answer; otherwise there is no winner and the
  comparison scores 0 (as the ``both_correct`` view counts an order-dependent verdict).
* **Pointwise votes**: each answer's 1-10 scores are summed over the samples where both answers were
  scored; the larger sum wins, equal sums tie (half a point), no such sample is a failure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
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
    if not counts:
        return None
    top = max(counts.values())
    return next(v for v in votes if v is not None and counts[v] == top)


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


def pointwise_votes(samples: Sequence[tuple[int | None, int | None]]) -> Majority:
    """Answer "1" against answer "2" from their 1-10 scores per sample, summed over the samples where both
    were scored (so k=1 is :func:`pointwise_accuracy`'s rule); the larger sum wins, equal sums tie."""
    scored = [(a, b) for a, b in samples if a is not None and b is not None]
    if not scored:
        return Majority(None, 0, 0)
    lead = sum(a for a, _ in scored) - sum(b for _, b in scored)
    return Majority("1" if lead > 0 else "2" if lead < 0 else None, abs(lead), len(scored))


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


def alternated_order(sample: int, first: str = "A") -> str:
    """The order sample ``sample`` is shown in: orders alternate, starting from ``first`` (the comparison's)."""
    other = "B" if first == "A" else "A"
    return first if sample % 2 == 0 else other
