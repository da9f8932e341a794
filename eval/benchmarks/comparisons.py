"""Rules shared by the benchmark modules: picks per order, all-must-win rules, grouping, section and overall means.

Accuracy-type scores (an RM-Bench cell, an RMB pair) use the seam's per-comparison view scores as
they are. All-must-win rules (best-of-N, RewardBench 2's best-of-4, JudgeBench's net of both orders)
need what the judge picked in each order, so they read the parsed verdicts: a :data:`Pick` is
``True`` (the better answer was picked), ``False`` (the other one) or ``None`` (no verdict: a parse
failure, or a request skipped as over-long or rejected), and :data:`Picks` maps the position the
better answer was shown in (``"A"``/``"B"``) to the pick. A missing verdict is never a win.

Views: ``chosen_as_A`` / ``chosen_as_B`` judge one order alone, ``both_correct`` and ``random_order``
need every judged order won, and ``mean_of_orders`` is the benchmark's own rule for combining both
orders (each benchmark module states it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from eval.aggregate import mean  # one mean for every aggregation (re-exported for the benchmark modules)
from eval.benchmark import ViewInput
from eval.scoring import ScoredJudgment

__all__ = ["Pick", "Picks", "all_picks", "every_order", "grouped", "items_of", "mean", "mean_or_none", "order_rule",
           "overall_mean", "section_means"]
Pick = bool | None
Picks = Mapping[str, Pick]
ORDER_VIEWS: dict[str, str] = {"chosen_as_A": "A", "chosen_as_B": "B"}


def all_picks(judged: Sequence[Mapping[str, ScoredJudgment]], mode: str) -> list[dict[str, Pick]]:
    """The picks of an item's comparisons per order under parse ``mode`` (the label is the better answer's tag)."""
    return [{tag: None if (label := j.verdict(mode).label) is None else label == tag for tag, j in by_order.items()}
            for by_order in judged]


def every_order(judged: Sequence[Picks]) -> float:
    """1 if every comparison was won in every order judged."""
    return float(all(bool(p) and all(won is True for won in p.values()) for p in judged))


def order_rule(view: str, judged: Sequence[Picks], combined: Callable[[Sequence[Picks]], float]) -> float:
    """An all-must-win item score under ``view``; ``combined`` is the benchmark's both-orders rule."""
    if view in ORDER_VIEWS:
        return float(all(p.get(ORDER_VIEWS[view]) is True for p in judged))
    return combined(judged) if view == "mean_of_orders" else every_order(judged)  # both_correct, random_order


def items_of(view: ViewInput) -> dict[str, list[str]]:
    """Item id -> its comparison ids (in expansion order) for the comparisons of one view."""
    out: dict[str, list[str]] = {}
    for comparison_id, comparison in view.comparisons.items():
        out.setdefault(comparison.item_id, []).append(comparison_id)
    return out


def grouped(view: ViewInput, key: str,
            score: Callable[[str, list[str]], float] | None = None) -> dict[str, list[float]]:
    """Item scores (or ``score(item id, its comparison ids)``) by the ``key`` metadata of each item's first
    comparison (a source, a category), in item order."""
    out: dict[str, list[float]] = defaultdict(list)
    for item_id, ids in items_of(view).items():
        value = view.item_scores[item_id] if score is None else score(item_id, ids)
        out[view.comparisons[ids[0]].metadata[key]].append(value)
    return out


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """Mean, or None if any value is None or there are none (a missing part is never averaged away)."""
    items = list(values)
    if not items or any(v is None for v in items):
        return None
    return sum(v for v in items if v is not None) / len(items)


def section_means(sections: Mapping[str, Sequence[str]],
                  weights: Mapping[str, int] | None = None) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A benchmark's ``section_scores``: each section the mean of its judged subsets' means (floats, or numpy
    arrays for bootstraps), weighted by ``weights`` (subset -> weight) if given; None if none is judged."""
    def scores(subset_means: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, subsets in sections.items():
            weight = {s: weights[s] if weights else 1 for s in subsets if subset_means.get(s) is not None}
            out[name] = sum(subset_means[s] * w for s, w in weight.items()) / sum(weight.values()) if weight else None
        return out
    return scores


def overall_mean(sections: Mapping[str, Any]) -> Any:
    """A benchmark's ``overall_score`` as the plain mean of its sections; None if one has no judged items."""
    return mean_or_none(sections.values())
