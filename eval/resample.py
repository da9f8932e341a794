"""Paired, subset-stratified bootstrap of the difference between two runs' benchmark scores.

Items are resampled with replacement within each subset (so every resample keeps the benchmark's
subset sizes and its official aggregation stays well defined), the SAME resampled items are used for
both runs (paired: the item difficulty cancels), and the benchmark's own section aggregation is
applied to each resample. The interval is the percentile interval of the resampled differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.benchmark import OverallScore, SectionScores


@dataclass(frozen=True)
class Interval:
    """A point difference (B - A) and its bootstrap percentile interval."""

    diff: float | None
    low: float | None
    high: float | None


def paired_bootstrap(
    pairs_by_subset: Mapping[str, Sequence[tuple[float, float]]],
    section_scores: SectionScores,
    overall_score: OverallScore,
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Interval]:
    """Intervals for every section and for ``"overall"`` from per-item (score A, score B) pairs per subset."""
    rng = np.random.default_rng(seed)
    a_means: dict[str, Any] = {}
    b_means: dict[str, Any] = {}
    point_a: dict[str, float] = {}
    point_b: dict[str, float] = {}
    for subset in sorted(pairs_by_subset):
        values = np.asarray(pairs_by_subset[subset], dtype=float).reshape(-1, 2)
        if not len(values):
            continue
        point_a[subset], point_b[subset] = values[:, 0].mean(), values[:, 1].mean()
        index = rng.integers(0, len(values), size=(resamples, len(values)))
        a_means[subset] = values[index, 0].mean(axis=1)
        b_means[subset] = values[index, 1].mean(axis=1)

    def scored(means: Mapping[str, Any]) -> dict[str, Any]:  # every section's score and the overall one
        sections = section_scores(means)
        return {**sections, "overall": overall_score(sections)}

    boot_a, boot_b, points_a, points_b = scored(a_means), scored(b_means), scored(point_a), scored(point_b)
    tail = (1 - confidence) / 2 * 100
    out = {}
    for name in boot_a:
        a, b, pa, pb = boot_a[name], boot_b[name], points_a[name], points_b[name]
        if a is None or b is None or pa is None or pb is None:
            out[name] = Interval(None, None, None)
            continue
        low, high = np.percentile(np.asarray(b) - np.asarray(a), [tail, 100 - tail])
        out[name] = Interval(float(pb - pa), float(low), float(high))
    return out
