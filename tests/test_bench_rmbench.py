"""RM-Bench: 9 comparisons per prompt, the 3x3 matrix, hard/normal/easy, and upstream's file mix-up.

The fixture's answers carry a marker; the scripted judge picks the marked answer and answers A when
both or neither are marked. So a cell is 1 (only the chosen variant marked), 0 (only the rejected
one) or 0.5 (both or neither: right as A, wrong as B). Expected scores are worked out by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep.prompts import builtin_template
from eval.benchmarks import rmbench
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.evaluate import EvalConfig, evaluate
from testkit.loopback_policies import marker_policy
from testkit.scripted_backend import ScriptedBackend

FIXTURE = str(Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rmbench_sample.jsonl")
MARK = "(checked)"


def run(benchmark, data_path: str, tmp_path: Path, order: str = "both", failure: str = "0", limit=None,
        policy=None):
    """Evaluate the fixture with the scripted marker judge (picks the '(checked)' answer, A if both or neither)."""
    data = benchmark.load_data(data_path, None, None, limit)
    backend = ScriptedBackend(policy or marker_policy(MARK))
    config = EvalConfig(order=order, parse_failure_score=failure, progress=False)
    with GenerationCache(tmp_path / "generations.jsonl") as cache:
        return evaluate(benchmark, data, builtin_template("instruct"), backend, cache, config)


def test_every_item_expands_to_its_nine_style_pairs() -> None:
    data = rmbench.BENCHMARK.load_data(FIXTURE, None, None)
    comparisons = rmbench.expand(data.items[0])
    assert [c.metadata["cell"] for c in comparisons] == [[i, j] for i in range(3) for j in range(3)]
    c02 = comparisons[2]
    assert c02.answer_1[0]["content"].startswith("The clear daytime sky is blue.")  # chosen, concise
    assert c02.answer_2[0]["content"].startswith("**Answer**")  # rejected, variant 2 is the markdown one
    assert [item.subset for item in data.items] == ["chat", "math", "code", "safety", "safety"]  # merged


def test_hand_computed_scores_hard_differs_from_easy_and_from_upstream(tmp_path: Path) -> None:
    result = run(rmbench.BENCHMARK, FIXTURE, tmp_path)
    view = result.scores["strict"]["mean_of_orders"]
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
    assert result.item_scores["chat:rmb-chat-1"]["strict"]["mean_of_orders"] == pytest.approx(1 / 3)  # mean of 9 cells


def test_per_order_views_split_the_half_cells(tmp_path: Path) -> None:
    scores = run(rmbench.BENCHMARK, FIXTURE, tmp_path).scores["strict"]
    assert scores["chosen_as_A"]["domains"]["chat"]["matrix"] == [[1, 0, 0], [1, 0, 0], [1, 1, 1]]
    assert scores["chosen_as_B"]["domains"]["chat"]["matrix"] == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]
    assert scores["both_correct"]["domains"]["chat"]["matrix"] == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]


def test_parse_failures_score_the_flag_and_a_missing_domain_leaves_no_overall(tmp_path: Path) -> None:
    result = run(rmbench.BENCHMARK, FIXTURE, tmp_path, order="random", failure="0.5", limit=1,
                 policy=lambda prompt: "no verdict here")
    view = result.scores["strict"]["random_order"]
    assert view["domains"]["chat"]["score"] == 0.5
    assert view["overall"] is None  # three domains were never judged


@pytest.mark.parametrize("row, message", [
    ({"id": 1, "prompt": "q", "chosen": ["a", "b"], "rejected": ["x"] * 3, "domain": "chat"}, "3 chosen"),  # 2 variants
    ({"id": 1, "prompt": "q", "chosen": ["a"] * 3, "rejected": ["x"] * 3, "domain": "poetry"}, "domain"),  # unknown
    ({"id": 1, "prompt": "q", "chosen": ["a"] * 3, "domain": "chat"}, "lacks columns"),  # no rejected column
])
def test_bad_rows_are_one_sentence_errors(tmp_path: Path, row: dict, message: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(EvalError, match=message):
        rmbench.BENCHMARK.load_data(str(path), None, None)


def test_cli_writes_a_heatmap_per_domain_and_the_upstream_comparison(tmp_path: Path) -> None:
    from eval import rmbench as cli
    from testkit.loopback_judge import LoopbackJudge

    with LoopbackJudge(marker_policy(MARK)) as judge:
        assert cli.main(["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct",
                         "--data", FIXTURE, "--out", str(tmp_path), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for domain in rmbench.DOMAINS:
        png = tmp_path / f"rmbench_{domain}.png"
        assert png.read_bytes().startswith(b"\x89PNG") and png.name in summary["plots"]
    report = (tmp_path / "report.md").read_text()
    assert "| **mean of domains** | | **43.75** | **52.08** | **60.42** | **52.08** |" in report
    assert "it would print hard 47.92" in report  # upstream's scorer on the same judgments
    assert summary["score"] == pytest.approx(25 / 48)
