"""RewardBench 2 with a pairwise judge: best-of-4 by beating each rejected answer, a shared top, Ties' substitute.

The scripted judge picks the '(checked)' answer and answers A when both or neither are marked, so a
comparison of two marked answers is won in one order only: a tie. Scores worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data_prep.prompts import builtin_template
from eval.benchmarks import rewardbench2 as rb2
from eval.cache import GenerationCache
from eval.evaluate import EvalConfig, evaluate
from testkit.loopback_policies import marker_policy
from testkit.scripted_backend import ScriptedBackend

FIXTURE = str(Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rewardbench2_sample.jsonl")
MARK = "(checked)"


def run(benchmark, data_path: str, tmp_path: Path, order: str = "both", failure: str = "0", limit=None,
        policy=None):
    """Evaluate the fixture with the scripted marker judge (picks the '(checked)' answer, A if both or neither)."""
    data = benchmark.load_data(data_path, None, None, limit)
    backend = ScriptedBackend(policy or marker_policy(MARK))
    config = EvalConfig(order=order, parse_failure_score=failure, progress=False)
    with GenerationCache(tmp_path / "generations.jsonl") as cache:
        return evaluate(benchmark, data, builtin_template("instruct"), backend, cache, config)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    return run(rb2.BENCHMARK, FIXTURE, tmp_path_factory.mktemp("rb2"))


def test_expansion_chosen_against_each_rejected() -> None:
    items = {i.id: i for i in rb2.BENCHMARK.load_data(FIXTURE, None, None).items}
    assert [c.comparison_id for c in rb2.expand(items["f1"])] == ["f1:r0", "f1:r1", "f1:r2"]
    assert len(rb2.expand(items["t-tied"])) == 4  # Ties: every correct x every incorrect answer


@pytest.mark.parametrize("item, expected", [
    ("f1", 1.0),  # wins all three
    ("f2", 0.5),  # one rejected answer also marked: a tie, the shared top splits credit 1/2
    ("fo1", 1 / 3),  # two ties: 1/3
    ("p1", 0.0),  # one comparison lost in both orders
])
def test_item_scores(result, item: str, expected: float) -> None:
    assert result.item_scores[item]["strict"]["mean_of_orders"] == pytest.approx(expected)


def test_hand_computed_subsets_and_overall(result) -> None:
    view = result.scores["strict"]["mean_of_orders"]
    assert view["sections"] == pytest.approx({"Factuality": 0.75, "Precise IF": 0.0, "Math": 1.0, "Safety": 1.0,
                                              "Focus": 1 / 3, "Ties": 0.5})
    # Ties: the reference prompt is accurate; the tied prompt's unmarked correct answer only ties
    assert view["subsets"]["Ties (reference)"] == 1.0 and view["subsets"]["Ties (tied)"] == 0.0
    assert view["overall"] == pytest.approx(43 / 72)  # (0.75 + 0 + 1 + 1 + 1/3 + 0.5) / 6
    assert view["overall_without_ties"] == pytest.approx(37 / 60)
    # as A the fallback wins every tie: f2 and fo1 count fully, p1's lost comparison still loses
    assert result.scores["strict"]["chosen_as_A"]["sections"]["Focus"] == 1.0
    assert result.scores["strict"]["chosen_as_B"]["sections"]["Factuality"] == 0.5


@pytest.mark.parametrize("picks, expected", [
    ([{"A": True, "B": True}] * 3, 1.0),  # strictly best
    ([{"A": True, "B": False}, {"A": True, "B": True}, {"A": True, "B": True}], 0.5),  # tied with one
    ([{"A": True, "B": None}, {"A": True, "B": True}, {"A": True, "B": True}], 0.5),  # a failure is no win: tie
    ([{"A": False, "B": None}, {"A": True, "B": True}, {"A": True, "B": True}], 0.0),  # never won: a loss
])
def test_shared_top(picks: list, expected: float) -> None:
    assert rb2.shared_top(picks) == expected


def test_one_seeded_order_covers_every_subset_with_a_limit(tmp_path: Path) -> None:
    result = run(rb2.BENCHMARK, FIXTURE, tmp_path, order="random", limit=6)
    view = result.scores["strict"]["random_order"]
    assert set(view["sections"]) == set(rb2.SUBSETS) and view["overall"] is not None  # a limit of 6 covers all
