"""Benchmarks whose items expand to several pairwise comparisons: the shared vocabulary and order rules.

RM-Bench (9 style pairs per prompt), RMB best-of-N (the best against each loser), RewardBench 2 (the
chosen against each rejected) and JudgeBench (one pair judged in both orders) are all scored from the
same per-comparison data: for each comparison, what the judge picked in each order it was judged in.

A :data:`Pick` is ``True`` (the preferred answer was picked), ``False`` (the other one) or ``None``
(no verdict: a parse failure, or a request skipped as over-long or rejected). :data:`Picks` maps the
position the preferred answer was shown in (``"A"``/``"B"``: the order) to the pick.

Views (the same names as :mod:`eval.aggregate`): with both orders judged, ``chosen_as_A`` and
``chosen_as_B`` score each order alone, ``both_correct`` needs every order right, and
``mean_of_orders`` is the benchmark's headline rule for combining the orders (a plain mean for
accuracy-type scores; each benchmark module says what it is for all-must-win rules). With one seeded
order, ``random_order`` scores that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from data_prep.pairs import PreferencePair

Pick = bool | None
Picks = Mapping[str, Pick]
ORDERS: tuple[str, ...] = ("A", "B")
BOTH_VIEWS: tuple[str, ...] = ("mean_of_orders", "chosen_as_A", "chosen_as_B", "both_correct")
RANDOM_VIEWS: tuple[str, ...] = ("random_order",)


@dataclass(frozen=True)
class Comparison:
    """One pairwise comparison of a benchmark item: ``pair.id`` is the comparison id, unique in the run."""

    item_id: str
    pair: PreferencePair

    @property
    def id(self) -> str:
        return self.pair.id


def pick_of(label: str | None, tag: str) -> Pick:
    """The pick a parsed verdict ``label`` makes when the preferred answer sits at ``tag``."""
    return None if label is None else label == tag


def views_for(picks_by_comparison: Mapping[str, Picks]) -> tuple[str, ...]:
    """The views a run has: the both-order views if any comparison was judged in two orders."""
    both = any(len(p) > 1 for p in picks_by_comparison.values())
    return BOTH_VIEWS if both else RANDOM_VIEWS


def pick_score(pick: Pick, failure_score: float) -> float:
    """1 for the preferred answer, 0 for the other, ``failure_score`` without a verdict."""
    return failure_score if pick is None else float(pick)


def accuracy_views(picks: Picks, failure_score: float) -> dict[str, float]:
    """Per-comparison scores for accuracy-type benchmarks (the mean of the orders is the headline)."""
    if len(picks) == 1:
        (only,) = picks.values()
        return {"random_order": pick_score(only, failure_score)}
    a, b = pick_score(picks.get("A"), failure_score), pick_score(picks.get("B"), failure_score)
    return {"mean_of_orders": (a + b) / 2, "chosen_as_A": a, "chosen_as_B": b,
            "both_correct": float(all(p is True for p in picks.values()))}


def won_in(picks: Picks, order: str | None = None) -> bool:
    """True if the preferred answer won in ``order`` (or, without one, in every order judged)."""
    if order is not None:
        return picks.get(order) is True
    return bool(picks) and all(p is True for p in picks.values())


def all_win_views(comparisons: Sequence[Picks], combined: float) -> dict[str, float]:
    """Item scores for all-must-win rules (best-of-N): per order, every comparison won in that order.

    ``combined`` is the item's score under the benchmark's own rule for both orders (``mean_of_orders``).
    """
    if comparisons and all(len(p) == 1 for p in comparisons):
        return {"random_order": float(all(won_in(p) for p in comparisons))}
    return {"mean_of_orders": combined,
            "chosen_as_A": float(all(won_in(p, "A") for p in comparisons)),
            "chosen_as_B": float(all(won_in(p, "B") for p in comparisons)),
            "both_correct": float(all(won_in(p) for p in comparisons))}


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    items = list(values)
    return sum(items) / len(items) if items else None


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """Mean of the values, or None if any is None or there are none (a missing part is never averaged away)."""
    items = list(values)
    return None if not items or any(v is None for v in items) else sum(items) / len(items)  # type: ignore[arg-type]
