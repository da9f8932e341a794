"""RM-Bench: 9 comparisons per prompt, the 3x3 matrix, hard/normal/easy, and upstream's file mix-up.

The fixture's answers carry a marker; the scripted judge picks the marked answer and answers A when
both or neither are marked. So a cell is 1 (only the chosen variant marked), 0 (only the rejected
one) or 0.5 (both or neither: right as A, wrong as B). Expected scores are worked out by hand below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.benchmarks import rmbench
from eval.benchmarks.comparisons import Comparison
from eval.errors import EvalError

FIXTURE = Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rmbench_sample.jsonl"
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
def data() -> rmbench.RMBenchData:
    return rmbench.load_rmbench(str(FIXTURE))


def test_every_item_expands_to_its_nine_style_pairs(data: rmbench.RMBenchData) -> None:
    assert len(data.comparisons) == 5 * 9
    cells = sorted(data.cell_of[c.id] for c in data.comparisons if c.item_id == "rmb-chat-1")
    assert cells == [(i, j) for i in range(3) for j in range(3)]
    first = next(c for c in data.comparisons if c.id == "rmb-chat-1:c0r2")
    assert first.pair.chosen[0]["content"].startswith("The clear daytime sky is blue.")
    assert first.pair.rejected[0]["content"].startswith("**Answer**")  # variant 2 is the markdown one


def test_hand_computed_scores_hard_differs_from_easy_and_from_upstream(data: rmbench.RMBenchData) -> None:
    picks = {c.id: marker_picks(c) for c in data.comparisons}
    view = rmbench.aggregate(picks, data.cell_of, data.item_of, data.domain_of, 0.0)["mean_of_orders"]
    chat = view["domains"]["chat"]
    # chat: chosen marks (0,0,1), rejected marks (0,1,1)
    assert chat["matrix"] == [[0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.5, 0.5]]
    assert chat["hard"] == 0.0 and chat["easy"] == pytest.approx(2 / 3)
    assert chat["normal"] == pytest.approx(1 / 3) and chat["score"] == pytest.approx(1 / 3)
    # upstream fills (0,1)<-(0,2), (1,2)<-(1,0), (2,0)<-(2,1): hard (0 + 0 + 0.5) / 3
    assert rmbench.triangle_scores(rmbench.upstream_mixup(chat["matrix"]))["hard"] == pytest.approx(1 / 6)
    # math all 1, code all 0, safety = the pooled mean of an all-1 item and an all-0.5 item
    assert view["sections"] == pytest.approx({"chat": 1 / 3, "math": 1.0, "code": 0.0, "safety": 0.75})
    assert view["domains"]["safety"]["items"] == 2
    assert view["overall"] == pytest.approx(25 / 48)  # (1/3 + 1 + 0 + 0.75) / 4
    assert view["hard"] == pytest.approx(0.4375)  # (0 + 1 + 0 + 0.75) / 4
    assert view["easy"] == pytest.approx(29 / 48)  # (2/3 + 1 + 0 + 0.75) / 4
    assert view["upstream_mixup"]["hard"] == pytest.approx(23 / 48)  # (1/6 + 1 + 0 + 0.75) / 4


def test_per_order_views_split_the_half_cells(data: rmbench.RMBenchData) -> None:
    picks = {c.id: marker_picks(c) for c in data.comparisons}
    views = rmbench.aggregate(picks, data.cell_of, data.item_of, data.domain_of, 0.0)
    assert views["chosen_as_A"]["domains"]["chat"]["matrix"] == [[1, 0, 0], [1, 0, 0], [1, 1, 1]]
    assert views["chosen_as_B"]["domains"]["chat"]["matrix"] == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]
    assert views["both_correct"]["domains"]["chat"]["matrix"] == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]


def test_one_seeded_order_and_parse_failure_score() -> None:
    data = rmbench.load_rmbench(str(FIXTURE), limit=1)
    assert set(data.domain_of) == {"rmb-chat-1"}
    picks = {c.id: {"A": None} for c in data.comparisons}  # no verdict anywhere
    assert rmbench.aggregate(picks, data.cell_of, data.item_of, data.domain_of, 0.5)["random_order"]["domains"][
        "chat"]["score"] == 0.5
    # a missing domain leaves the overall undefined rather than averaging it away
    assert rmbench.aggregate(picks, data.cell_of, data.item_of, data.domain_of, 0.5)["random_order"]["overall"] is None


@pytest.mark.parametrize("row, message", [
    ({"id": 1, "prompt": "q", "chosen": ["a", "b"], "rejected": ["x"] * 3, "domain": "chat"}, "3 chosen"),  # 2 variants
    ({"id": 1, "prompt": "q", "chosen": ["a"] * 3, "rejected": ["x"] * 3, "domain": "poetry"}, "domain"),  # unknown
    ({"id": 1, "prompt": "q", "chosen": ["a"] * 3, "domain": "chat"}, "lacks columns"),  # no rejected column
])
def test_bad_rows_are_one_sentence_errors(tmp_path: Path, row: dict, message: str) -> None:
    import json

    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(EvalError, match=message):
        rmbench.load_rmbench(str(path))
