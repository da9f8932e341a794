"""Benchmark-independent aggregation for pairwise judgments: per-item views, position statistics, failure rates.

Per-item views (each a score in [0, 1] per comparison; a benchmark averages them its own way):

* ``order both``: ``chosen_as_A`` and ``chosen_as_B`` (the judgment in each order), ``mean_of_orders``
  (their mean: the headline, i.e. the random-order protocol's expectation over the order draw) and
  ``both_correct`` (1 only if both orders pick the preferred answer; a parse failure never counts).
* ``order random``: ``random_order`` (the one seeded order).

Position statistics: per-order accuracy, both-orders accuracy, the position-consistency rate (share of
comparisons, among those with a verdict in both orders, where the judge picked the same answer in both)
and the A-pick rate (share of verdicts that say A; 0.5 is unbiased when orders are balanced) with
``a_bias = a_pick_rate - 0.5``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eval.scoring import ScoredJudgment
from reward_fns.verdict import MODES

VIEWS: dict[str, tuple[str, ...]] = {  # per order policy; the first view is the headline
    "both": ("mean_of_orders", "chosen_as_A", "chosen_as_B", "both_correct"),
    "random": ("random_order",),
}
_NUMBER = re.compile(r"\d+")
_REASON_CHARS = 200


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    total, count = 0.0, 0
    for value in values:
        total += value
        count += 1
    return total / count if count else None


def by_item(scored: Iterable[ScoredJudgment]) -> dict[str, dict[str, ScoredJudgment]]:
    """Group judgments by item id, then by tag (the preferred answer's position)."""
    grouped: dict[str, dict[str, ScoredJudgment]] = defaultdict(dict)
    for judgment in scored:
        grouped[judgment.item_id][judgment.tag] = judgment
    return dict(grouped)


def item_views(
    judgments: Mapping[str, ScoredJudgment], policy: str, mode: str, failure_score: float
) -> dict[str, float]:
    """The per-item view scores for one comparison under ``mode`` and ``failure_score``."""
    if policy == "random":
        (only,) = judgments.values()
        return {"random_order": only.score(mode, failure_score)}
    a, b = judgments["A"], judgments["B"]
    score_a, score_b = a.score(mode, failure_score), b.score(mode, failure_score)
    return {
        "mean_of_orders": (score_a + score_b) / 2,
        "chosen_as_A": score_a,
        "chosen_as_B": score_b,
        "both_correct": 1.0 if a.correct(mode) and b.correct(mode) else 0.0,
    }


def position_stats(items: Mapping[str, Mapping[str, ScoredJudgment]], policy: str, mode: str,
                   failure_score: float) -> dict[str, Any]:
    """Per-order accuracy, both-orders accuracy, consistency and A-bias under one parse mode."""
    per_order: dict[str, list[float]] = {"A": [], "B": []}
    picks: Counter[str] = Counter()
    both_correct, consistent, both_parsed = [], 0, 0
    for judgments in items.values():
        for tag, judgment in judgments.items():
            per_order[tag].append(judgment.score(mode, failure_score))
            label = judgment.verdict(mode).label
            if label is not None:
                picks[label] += 1
        if policy == "both":
            a, b = judgments["A"], judgments["B"]
            both_correct.append(1.0 if a.correct(mode) and b.correct(mode) else 0.0)
            if a.verdict(mode).label is not None and b.verdict(mode).label is not None:
                both_parsed += 1
                consistent += a.correct(mode) == b.correct(mode)  # same underlying answer in both orders
    parsed = picks["A"] + picks["B"]
    a_rate = picks["A"] / parsed if parsed else None
    return {
        "accuracy_chosen_as_A": mean(per_order["A"]),
        "accuracy_chosen_as_B": mean(per_order["B"]),
        "judgments_chosen_as_A": len(per_order["A"]),
        "judgments_chosen_as_B": len(per_order["B"]),
        "both_orders_accuracy": mean(both_correct) if policy == "both" else None,
        "position_consistency": consistent / both_parsed if both_parsed else None,
        "items_with_both_verdicts": both_parsed if policy == "both" else None,
        "a_pick_rate": a_rate,
        "a_bias": None if a_rate is None else a_rate - 0.5,
    }


def failure_stats(scored: Sequence[ScoredJudgment]) -> dict[str, Any]:
    """Parse-failure rates (strict and lenient) over generated judgments, skips and truncations apart."""
    generated = [j for j in scored if j.skipped is None]
    out: dict[str, Any] = {
        "judgments": len(scored),
        "generated": len(generated),
        "skipped": dict(sorted(Counter(j.skipped for j in scored if j.skipped is not None).items())),
        "truncated": sum(1 for j in generated if j.finish_reason == "length"),
        "skip_reasons": dict(sorted(Counter(skip_reason(j) for j in scored if j.skipped is not None).items())),
    }
    for mode in MODES:
        reasons = Counter(j.verdict(mode).failure for j in generated if j.verdict(mode).label is None)
        failures = sum(reasons.values())
        out[mode] = {
            "parse_failures": failures,
            "parse_failure_rate": failures / len(generated) if generated else None,
            "reasons": dict(sorted(reasons.items())),
        }
    return out


def skip_reason(judgment: ScoredJudgment) -> str:
    """Why a judgment was not generated, with numbers generalised so equal reasons count together.

    ``rejected: ... context length is N tokens, requested N ...`` rather than one line per prompt length.
    """
    detail = _NUMBER.sub("N", " ".join((judgment.detail or "no reason given").split()))
    return f"{judgment.skipped}: {detail[:_REASON_CHARS]}"
