"""JudgeBench: both orders, +1/-1 per decision, a pair correct iff the net is positive; micro accuracy per prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.benchmarks import judgebench as jb
from eval.benchmarks.comparisons import Comparison

FIXTURE = Path(__file__).resolve().parents[1] / "preflight" / "samples" / "judgebench_sample.jsonl"
MARK = "(checked)"


def marker_picks(comparison: Comparison, orders: tuple[str, ...] = ("A", "B")) -> dict[str, bool]:
    """What the marker judge picks in each order (True: the preferred answer)."""
    chosen, rejected = comparison.pair.chosen[-1]["content"], comparison.pair.rejected[-1]["content"]
    picks = {}
    for tag in orders:
        a, b = (chosen, rejected) if tag == "A" else (rejected, chosen)
        label = "A" if (MARK in a) == (MARK in b) else ("A" if MARK in a else "B")
        picks[tag] = label == tag
    return picks


@pytest.mark.parametrize("picks, correct", [
    ({"A": True, "B": True}, 1.0),  # right in both orders
    ({"A": True, "B": False}, 0.0),  # inconsistent across orders: net 0, not correct
    ({"A": True, "B": None}, 1.0),  # right once, no verdict once: net +1
    ({"A": None, "B": None}, 0.0),  # no verdict at all
    ({"A": False, "B": None}, 0.0),  # wrong once
])
def test_net_rule(picks: dict, correct: float) -> None:
    assert jb.pair_scores(picks)["mean_of_orders"] == correct


def test_label_decides_the_preferred_answer() -> None:
    data = jb.load_judgebench(str(FIXTURE))
    j2 = next(c for c in data.comparisons if c.id == "j2")  # label B>A
    assert j2.pair.chosen[0]["content"].startswith("Yes, Tom is an animal.")
    assert data.prefix_of == {"j1": "mmlu-pro", "j2": "livebench-reasoning", "j3": "livebench-math",
                              "j4": "livecodebench", "j5": "mmlu-pro"}


def test_hand_computed_accuracy_per_prefix() -> None:
    data = jb.load_judgebench(str(FIXTURE))
    picks = {c.id: marker_picks(c) for c in data.comparisons}
    views = jb.aggregate(picks, data.prefix_of, data.source_of)
    view = views["mean_of_orders"]
    assert view["overall"] == pytest.approx(0.6)  # j1, j2, j5 right; j3 flips with the order; j4 wrong
    assert view["sections"] == {"mmlu-pro": 1.0, "livebench-reasoning": 1.0, "livebench-math": 0.0,
                                "livecodebench": 0.0}
    assert views["chosen_as_A"]["overall"] == pytest.approx(0.8)  # j3's fallback A is right as A
    assert views["chosen_as_B"]["overall"] == pytest.approx(0.6)
    assert view["subset_items"] == {"livebench-math": 1, "livebench-reasoning": 1, "livecodebench": 1,
                                    "mmlu-pro-law": 1, "mmlu-pro-math": 1}
