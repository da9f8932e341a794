"""The Benchmark seam with a toy multi-comparison benchmark: what the aggregation receives, hand-computed.

The toy benchmark has two items in one subset. Item "x" expands to two comparisons (best vs loser 1,
best vs loser 2, the best shown as answer_1 in one and as answer_2 in the other, i.e. ``truth`` "1"
and "2"); item "y" to one. The scripted marker judge picks the answer carrying "(checked)": the best
of "x" is marked, so both of x's comparisons are won in both orders; y's better answer is unmarked
and its worse one is, so y is lost in both orders. An all-must-win item score gives x 1 and y 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from data_prep.prompts import builtin_template
from eval.benchmark import Benchmark, BenchmarkData, Comparison, Item, ViewInput, make_comparison, stratified
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.evaluate import EvalConfig, evaluate
from infra.run_metadata import InputRef
from testkit.loopback_policies import marker_policy
from testkit.scripted_backend import ScriptedBackend

SEEN: list[ViewInput] = []


def _expand(item: Item) -> list[Comparison]:
    if item.id == "x":
        return [make_comparison("x", "x:1", "Q1", "best (checked)", "loser one", truth="1"),
                make_comparison("x", "x:2", "Q1", "loser two", "best (checked)", truth="2")]
    return [make_comparison("y", "y", "Q2", "better", "worse (checked)", truth="1")]


def _aggregate(view: ViewInput) -> dict[str, Any]:
    SEEN.append(view)
    scores = view.subset_scores["s"]
    return {"overall": sum(scores) / len(scores), "sections": {"S": None}, "subsets": {}, "subset_items": {},
            "micro_mean": None}


def _benchmark(expand: Any = _expand) -> Benchmark:
    return Benchmark(name="toy", tool="tests.toy", load=lambda *a: ([], InputRef(name="toy")), expand=expand,
                     aggregate=_aggregate, sections={"S": ("s",)}, conventions="toy mean",
                     section_scores=lambda m: m, overall_score=lambda s: None,
                     item_score=lambda view, scores: float(all(s == 1.0 for s in scores)))


def _data() -> BenchmarkData:
    return BenchmarkData([Item("x", "s"), Item("y", "s")], InputRef(name="toy"), 2)


def test_an_item_of_several_comparisons_is_aggregated_from_its_per_order_verdicts(tmp_path: Path) -> None:
    SEEN.clear()
    backend = ScriptedBackend(marker_policy("(checked)"))
    with GenerationCache(tmp_path / "gen.jsonl") as cache:
        result = evaluate(_benchmark(), _data(), builtin_template("instruct"), backend, cache,
                          EvalConfig(progress=False))
    assert backend.calls == 6  # 3 comparisons x 2 orders
    assert result.item_scores["x"]["strict"]["mean_of_orders"] == 1.0  # won both comparisons in both orders
    assert result.item_scores["y"]["strict"]["both_correct"] == 0.0
    assert result.headline(EvalConfig()) == 0.5  # (1 + 0) / 2
    view = next(v for v in SEEN if v.mode == "strict" and v.view == "mean_of_orders")
    assert view.comparison_scores == {"x:1": 1.0, "x:2": 1.0, "y": 0.0}
    assert set(view.verdicts["x:2"]) == {"A", "B"} and view.verdicts["x:2"]["A"].strict.label == "A"
    assert view.comparisons["x:2"].truth == "2" and view.item_scores == {"x": 1.0, "y": 0.0}


def test_comparison_ids_must_be_unique_and_truth_is_1_or_2(tmp_path: Path) -> None:
    twice = _benchmark(lambda item: [make_comparison(item.id, "same", "Q", "a", "b")])
    with GenerationCache(tmp_path / "gen.jsonl") as cache, pytest.raises(EvalError, match="'same' twice"):
        evaluate(twice, _data(), builtin_template("instruct"), ScriptedBackend(), cache, EvalConfig(progress=False))
    with pytest.raises(EvalError, match="must be '1' or '2'"):
        make_comparison("i", "c", "Q", "a", "b", truth="A")


def test_voting_samples_are_separate_requests(tmp_path: Path) -> None:
    votes = _benchmark(lambda item: [make_comparison(item.id, f"{item.id}:{k}", "Q", "a (checked)", "b", sample=k)
                                     for k in range(3)])
    backend = ScriptedBackend(marker_policy("(checked)"))
    with GenerationCache(tmp_path / "gen.jsonl") as cache:
        result = evaluate(votes, _data(), builtin_template("instruct"), backend, cache, EvalConfig(progress=False))
    assert result.stats.unique_requests == 6 and backend.calls == 6  # 3 samples x 2 orders (x and y share prompts)


@pytest.mark.parametrize(
    ("subsets", "limit", "expected"),
    [
        (["a1", "a2", "a3", "b1"], 2, ["0", "3"]),  # sections first: one of A, one of B
        (["a1", "a1", "a2", "b1"], 3, ["0", "2", "3"]),  # then subsets within a section (a2 before a1's second)
        (["a1", "b1"], 10, ["0", "1"]),  # a limit above the size keeps everything
    ],
)
def test_stratified_limit(subsets: list[str], limit: int, expected: list[str]) -> None:
    items = [Item(str(i), s) for i, s in enumerate(subsets)]
    assert [i.id for i in stratified(items, limit, lambda s: s[0].upper())] == expected
