"""RMB: pairwise micro accuracy, best-of-N where the best must beat every loser in every order, the 4-part mean.

The data has no license, so the fixture is a synthetic folder in the repository's layout. The scripted
judge picks the '(checked)' answer and answers A when both or neither are marked. Scores by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep.prompts import builtin_template
from eval.benchmarks import rmb
from eval.benchmarks.comparisons import every_order, order_rule
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.evaluate import EvalConfig, evaluate
from testkit.loopback_policies import marker_policy
from testkit.scripted_backend import ScriptedBackend

FIXTURE = str(Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rmb_sample")
MARK = "(checked)"
DOC0 = "bon:BoN_set/Helpfulness/Code/Documentation:0"


def run(benchmark, data_path: str, tmp_path: Path, order: str = "both", failure: str = "0", limit=None,
        policy=None):
    """Evaluate the fixture with the scripted marker judge (picks the '(checked)' answer, A if both or neither)."""
    data = benchmark.load_data(data_path, None, None, limit)
    backend = ScriptedBackend(policy or marker_policy(MARK))
    config = EvalConfig(order=order, parse_failure_score=failure, progress=False)
    with GenerationCache(tmp_path / "generations.jsonl") as cache:
        return evaluate(benchmark, data, builtin_template("instruct"), backend, cache, config)


def test_layout_items_and_comparisons() -> None:
    data = rmb.BENCHMARK.load_data(FIXTURE, None, None)  # the clone's root: RMB_dataset is found inside it
    assert sorted(i.subset for i in data.items) == ["BoN harmlessness"] * 2 + ["BoN helpfulness"] * 2 + \
        ["Pairwise harmlessness"] + ["Pairwise helpfulness"] * 2
    by_id = {i.id: i for i in data.items}
    assert len(rmb.expand(by_id[DOC0])) == 3  # one comparison per loser
    (multi,) = rmb.expand(by_id["pairwise:Pairwise_set/Helpfulness/Chat/Casual Conversation:1"])
    assert [m["role"] for m in multi.conversation] == ["user", "assistant", "user"]  # multi-turn kept


def test_hand_computed_scores_with_a_bon_item_lost_by_one_comparison(tmp_path: Path) -> None:
    result = run(rmb.BENCHMARK, FIXTURE, tmp_path)
    view = result.scores["strict"]["mean_of_orders"]
    # Documentation item 0: the best is marked, loser 2 too -> that comparison is lost as B -> the item scores 0
    assert {v: result.item_scores[DOC0]["strict"][v] for v in ("mean_of_orders", "chosen_as_A", "chosen_as_B")} == \
        {"mean_of_orders": 0.0, "chosen_as_A": 1.0, "chosen_as_B": 0.0}
    assert view["sections"] == {
        "Pairwise helpfulness": 0.75,  # (1 + 0.5) / 2: the unmarked multi-turn pair is right as A only
        "Pairwise harmlessness": 1.0,
        "BoN helpfulness": 0.5,  # (0 + 1) / 2
        "BoN harmlessness": 0.5,  # the unmarked best fails as B; the marked one wins
    }
    assert view["overall"] == pytest.approx(0.6875)  # (0.75 + 1 + 0.5 + 0.5) / 4
    assert view["categories"]["BoN_set/Helpfulness/Code/Documentation"] == 0.5
    assert result.scores["strict"]["chosen_as_A"]["overall"] == 1.0  # fallback A wins every comparison as A


@pytest.mark.parametrize("picks, view, expected", [
    ([{"A": True, "B": True}, {"A": True, "B": True}], "mean_of_orders", 1.0),  # every loser beaten twice
    ([{"A": True, "B": True}, {"A": True, "B": None}], "mean_of_orders", 0.0),  # a parse failure is no win
    ([{"A": True, "B": True}, {"A": True, "B": None}], "chosen_as_A", 1.0),  # as A alone it counts
    ([{"B": True}, {"B": False}], "random_order", 0.0),  # one seeded order: one lost comparison
])
def test_bon_rule(picks: list, view: str, expected: float) -> None:
    assert order_rule(view, picks, every_order) == expected


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("setup, message", [
    (lambda root: None, "is not a folder"),  # the path does not exist
    (lambda root: root.mkdir(), "no Pairwise_set or BoN_set"),  # an unrelated folder
    (lambda root: _write(root / "Pairwise_set" / "Helpfulness" / "C" / "s.json", "{"), "not valid JSON"),
    (lambda root: _write(root / "BoN_set" / "Helpfulness" / "C" / "s.json",
                         json.dumps([{"bon_uid": "0", "category_path": "c"}])), "lacks"),  # BoN row without answers
    (lambda root: _write(root / "Pairwise_set" / "Other" / "s.json", "[]"), "Helpfulness or Harmlessness"),
])
def test_bad_layouts_are_one_sentence_errors(tmp_path: Path, setup, message: str) -> None:
    root = tmp_path / "RMB_dataset"
    setup(root)
    with pytest.raises(EvalError, match=message):
        rmb.BENCHMARK.load_data(str(root), None, None)
