"""RMB: pairwise micro accuracy, best-of-N where the best must beat every loser in every order, the 4-part mean.

The data has no license, so the fixture is a synthetic folder in the repository's layout. The marker
judge picks the marked answer and answers A when both or neither are marked. Scores worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.benchmarks import rmb
from eval.benchmarks.comparisons import Comparison
from eval.errors import EvalError

FIXTURE = Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rmb_sample"
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
def data() -> rmb.RMBData:
    return rmb.load_rmb(FIXTURE)  # the clone's root: RMB_dataset is found inside it


def test_layout_items_and_comparisons(data: rmb.RMBData) -> None:
    kinds = sorted((i.kind, i.goal) for i in data.items.values())
    assert kinds == [("bon", "Harmlessness")] * 2 + [("bon", "Helpfulness")] * 2 + \
        [("pairwise", "Harmlessness")] + [("pairwise", "Helpfulness")] * 2
    best = data.items["bon:BoN_set/Helpfulness/Code/Documentation:0"]
    assert len(best.comparison_ids) == 3  # one comparison per loser
    multi = next(c for c in data.comparisons if c.id == "pairwise:Pairwise_set/Helpfulness/Chat/Casual Conversation:1")
    assert [m["role"] for m in multi.pair.conversation] == ["user", "assistant", "user"]  # multi-turn kept
    assert "language" not in multi.pair.conversation[0]


def test_hand_computed_scores_with_a_bon_item_lost_by_one_comparison(data: rmb.RMBData) -> None:
    picks = {c.id: marker_picks(c) for c in data.comparisons}
    views = rmb.aggregate(picks, data.items, 0.0)
    view = views["mean_of_orders"]
    # the Documentation item 0: best marked, loser 2 marked too -> that comparison is lost as B -> item 0
    item = data.items["bon:BoN_set/Helpfulness/Code/Documentation:0"]
    assert rmb.item_scores(item, picks, 0.0) == {"mean_of_orders": 0.0, "chosen_as_A": 1.0, "chosen_as_B": 0.0,
                                                 "both_correct": 0.0}
    assert view["sections"] == {
        "Pairwise helpfulness": 0.75,  # (1 + 0.5) / 2: the unmarked multi-turn pair is right as A only
        "Pairwise harmlessness": 1.0,
        "BoN helpfulness": 0.5,  # (0 + 1) / 2
        "BoN harmlessness": 0.5,  # the unmarked best fails as B; the marked one wins
    }
    assert view["overall"] == pytest.approx(0.6875)  # (0.75 + 1 + 0.5 + 0.5) / 4
    assert view["subsets"]["BoN_set/Helpfulness/Code/Documentation"] == 0.5
    assert views["chosen_as_A"]["overall"] == 1.0  # fallback A: every comparison is won when the best is A


def test_a_parse_failure_is_never_a_bon_win() -> None:
    item = rmb.RMBItem("bon:x:0", "bon", "Helpfulness", "x", ("c0", "c1"))
    picks = {"c0": {"A": True, "B": True}, "c1": {"A": True, "B": None}}
    assert rmb.item_scores(item, picks, 0.5)["mean_of_orders"] == 0.0


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
        rmb.load_rmb(root)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
