"""RewardBench 2 with a pairwise judge: best-of-4 by beating each rejected answer, a shared top, Ties' substitute.

The marker judge picks the marked answer and answers A when both or neither are marked, so a
comparison of two marked answers is won in one order only: a tie. Scores worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.benchmarks import rewardbench2 as rb2
from eval.benchmarks.comparisons import Comparison

FIXTURE = Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rewardbench2_sample.jsonl"
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


@pytest.fixture(scope="module")
def data() -> rb2.RB2Data:
    return rb2.load_rewardbench2(str(FIXTURE))


def test_expansion_chosen_against_each_rejected(data: rb2.RB2Data) -> None:
    assert data.items["f1"].comparison_ids == ("f1:r0", "f1:r1", "f1:r2")
    assert len(data.items["t-tied"].comparison_ids) == 4  # Ties: every correct x every incorrect answer
    assert data.items["t-tied"].num_correct == 2


@pytest.mark.parametrize("item, expected", [
    ("f1", 1.0),  # wins all three
    ("f2", 0.5),  # one rejected answer also marked: a tie, the shared top splits credit 1/2
    ("fo1", 1 / 3),  # two ties: 1/3
    ("p1", 0.0),  # one comparison lost in both orders
    ("t-ref", 1.0),  # Ties reference prompt: accurate
    ("t-tied", 0.0),  # Ties tied prompt: the unmarked correct answer only ties -> not accurate
])
def test_item_scores(data: rb2.RB2Data, item: str, expected: float) -> None:
    picks = {c.id: marker_picks(c) for c in data.comparisons}
    assert rb2.item_scores(data.items[item], picks)["mean_of_orders"] == pytest.approx(expected)


def test_hand_computed_subsets_and_overall(data: rb2.RB2Data) -> None:
    picks = {c.id: marker_picks(c) for c in data.comparisons}
    views = rb2.aggregate(picks, data.items)
    view = views["mean_of_orders"]
    assert view["sections"] == pytest.approx({"Factuality": 0.75, "Precise IF": 0.0, "Math": 1.0, "Safety": 1.0,
                                              "Focus": 1 / 3, "Ties": 0.5})
    assert view["ties_parts"] == {"reference": 1.0, "tied": 0.0}
    assert view["overall"] == pytest.approx(43 / 72)  # (0.75 + 0 + 1 + 1 + 1/3 + 0.5) / 6
    assert view["overall_without_ties"] == pytest.approx(37 / 60)
    # as A the fallback wins every tie: f2 and fo1 count fully, p1's lost comparison still loses
    assert views["chosen_as_A"]["sections"]["Focus"] == 1.0
    assert views["chosen_as_B"]["sections"]["Factuality"] == 0.5


def test_one_seeded_order() -> None:
    data = rb2.load_rewardbench2(str(FIXTURE), limit=6)
    assert {i.subset for i in data.items.values()} == set(rb2.SUBSETS)  # round-robin covers every subset
    picks = {c.id: {"B": True} for c in data.comparisons}
    assert rb2.aggregate(picks, data.items)["random_order"]["overall"] == 1.0
