"""JudgeBench: both orders, +1/-1 per decision, a pair correct iff the net is positive; micro accuracy per prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_prep.prompts import builtin_template
from eval.benchmarks import judgebench as jb
from eval.cache import GenerationCache
from eval.evaluate import EvalConfig, evaluate
from testkit.loopback_policies import marker_policy
from testkit.scripted_backend import ScriptedBackend

FIXTURE = str(Path(__file__).resolve().parents[1] / "preflight" / "samples" / "judgebench_sample.jsonl")
MARK = "(checked)"


def run(benchmark, data_path: str, tmp_path: Path, order: str = "both", failure: str = "0", limit=None,
        policy=None):
    """Evaluate the fixture with the scripted marker judge (picks the '(checked)' answer, A if both or neither)."""
    data = benchmark.load_data(data_path, None, None, limit)
    backend = ScriptedBackend(policy or marker_policy(MARK))
    config = EvalConfig(order=order, parse_failure_score=failure, progress=False)
    with GenerationCache(tmp_path / "generations.jsonl") as cache:
        return evaluate(benchmark, data, builtin_template("instruct"), backend, cache, config)


@pytest.mark.parametrize("picks, correct", [
    ({"A": True, "B": True}, 1.0),  # right in both orders
    ({"A": True, "B": False}, 0.0),  # inconsistent across orders: net 0, not correct
    ({"A": True, "B": None}, 1.0),  # right once, no verdict once: net +1
    ({"A": None, "B": None}, 0.0),  # no verdict at all
    ({"A": False, "B": None}, 0.0),  # wrong once
])
def test_net_rule(picks: dict, correct: float) -> None:
    assert jb.net_rule([picks]) == correct


def test_label_decides_the_better_response() -> None:
    items = {i.id: i for i in jb.BENCHMARK.load_data(FIXTURE, None, None).items}
    (j2,) = jb.expand(items["j2"])  # label B>A
    assert j2.truth == "2" and j2.shown("A")[0][0]["content"].startswith("Yes, Tom is an animal.")


def test_hand_computed_accuracy_per_prefix(tmp_path: Path) -> None:
    result = run(jb.BENCHMARK, FIXTURE, tmp_path)
    view = result.scores["strict"]["mean_of_orders"]
    assert view["overall"] == pytest.approx(0.6)  # j1, j2, j5 right; j3 flips with the order (net 0); j4 wrong
    assert view["prefixes"] == {"mmlu-pro": 1.0, "livebench-reasoning": 1.0, "livebench-math": 0.0,
                                "livecodebench": 0.0}
    assert view["sections"] == {"all pairs": pytest.approx(0.6)}
    assert result.item_scores["j3"]["strict"]["mean_of_orders"] == 0.0  # inconsistent pair: not correct
    assert result.scores["strict"]["chosen_as_A"]["overall"] == pytest.approx(0.8)  # j3's fallback A is right as A
    assert result.scores["strict"]["chosen_as_B"]["overall"] == pytest.approx(0.6)
    assert view["subset_items"] == {"livebench-math": 1, "livebench-reasoning": 1, "livecodebench": 1,
                                    "mmlu-pro-law": 1, "mmlu-pro-math": 1}
    assert result.position["strict"]["position_consistency"] == pytest.approx(0.8)  # j3 alone flips


def test_right_once_and_no_verdict_once_counts_in_items_and_score(tmp_path: Path) -> None:
    """The item scores (items.jsonl, compare.py) follow the net rule too, not the mean of the two orders."""
    from testkit.loopback_policies import default_extractor

    def right_only_as_a(prompt: str) -> str:  # a verdict only when the marked answer is shown first
        text_a, _ = default_extractor(prompt)
        return "<answer>[[A]]</answer>" if MARK in text_a else "I cannot decide."

    result = run(jb.BENCHMARK, FIXTURE, tmp_path, policy=right_only_as_a)
    assert result.comparison_scores["j1"]["strict"]["mean_of_orders"] == 0.5  # right once, no verdict once
    assert result.item_scores["j1"]["strict"]["mean_of_orders"] == 1.0  # net +1: correct
    assert result.scores["strict"]["mean_of_orders"]["prefixes"]["mmlu-pro"] == 1.0
