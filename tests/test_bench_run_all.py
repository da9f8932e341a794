"""eval/run_all.py: every benchmark through one judge and one cache, the combined report, budgets.

The loopback judge (a real HTTP server) runs the marker policy: it picks the '(checked)' answer and
answers A when both or neither are marked, so every score below is the hand-computed one from the
benchmark's own test file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep.prompts import builtin_template, load_template
from eval import run_all
from eval.judge_prompt import BUDGETS, TEMPLATE_FILE_BUDGET, PromptChoice
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples"
DATA = {"rewardbench": "rewardbench_sample.jsonl", "rmbench": "rmbench_sample.jsonl", "rmb": "rmb_sample",
        "rewardbench2": "rewardbench2_sample.jsonl", "judgebench": "judgebench_sample.jsonl"}
REWARDBENCH = ((100 * 3.5 / 4 + 40 * 0.5) / 140 + (100 * 0.5 + 46) / 146 + 2 / 3 + (984 + 164 / 3) / 1148) / 4
EXPECTED = {"rewardbench": REWARDBENCH, "rmbench": 25 / 48, "rmb": 0.6875, "rewardbench2": 43 / 72, "judgebench": 0.6}
JUDGMENTS = {"rewardbench": 46, "rmbench": 90, "rmb": 24, "rewardbench2": 48, "judgebench": 10}


def argv(base_url: str, out: Path, *extra: str, data: dict[str, str] | None = None) -> list[str]:
    flags = [f"--data={name}={SAMPLES / file}" for name, file in (data or DATA).items()]
    return ["--base-url", base_url, "--model", "loopback-judge", "--variant", "instruct", "--out", str(out),
            "--no-progress", "--no-plots", *flags, *extra]


def test_every_benchmark_in_one_table_with_hand_computed_scores(tmp_path: Path) -> None:
    with LoopbackJudge(marker_policy("(checked)")) as judge:
        assert run_all.main(argv(judge.base_url, tmp_path)) == 0
        calls = judge.call_count
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = summary["benchmarks"]
    assert list(rows) == list(DATA)
    assert {name: row["score"] for name, row in rows.items()} == pytest.approx(EXPECTED)
    assert {name: row["judgments"] for name, row in rows.items()} == JUDGMENTS
    assert rows["judgebench"]["position_consistency"] == pytest.approx(0.8)
    assert rows["judgebench"]["both_orders_accuracy"] == pytest.approx(0.6)
    assert calls == sum(JUDGMENTS.values()) == summary["conventions"]["generated"]  # every prompt once
    report = (tmp_path / "report.md").read_text()
    assert "| benchmark | score | both-order accuracy | position consistency | parse failures |" in report
    assert "NOT comparable with the official leaderboard" in report  # RewardBench 2's Ties substitute
    assert "generation budget 8192 new tokens (default for the instruct variant)" in report
    # a benchmark's own both-order rule is named as such, not as a mean of orders
    assert "score 60.00 (micro accuracy" in (tmp_path / "judgebench" / "report.md").read_text()
    assert "| section | net of both orders (official) |" in (tmp_path / "judgebench" / "report.md").read_text()
    for name in DATA:  # each benchmark's full report sits beside the combined one
        assert json.loads((tmp_path / name / "summary.json").read_text())["score"] == pytest.approx(EXPECTED[name])


def test_one_cache_identical_prompts_are_never_generated_twice(tmp_path: Path) -> None:
    row = json.loads((SAMPLES / DATA["rewardbench"]).read_text().splitlines()[0])
    twin = {"pair_id": "twin", "original_id": "t", "source": "mmlu-pro-x", "question": row["prompt"],
            "response_model": "m", "response_A": row["chosen"], "response_B": row["rejected"], "label": "A>B"}
    (tmp_path / "jb.jsonl").write_text(json.dumps(twin) + "\n")  # the same judge prompts as RewardBench's row 1
    data = {"rewardbench": DATA["rewardbench"], "judgebench": str(tmp_path / "jb.jsonl")}
    with LoopbackJudge(marker_policy("(checked)")) as judge:
        assert run_all.main(argv(judge.base_url, tmp_path / "a", "--benchmarks", "rewardbench,judgebench",
                                 data=data)) == 0
        assert judge.call_count == JUDGMENTS["rewardbench"]  # the twin's two orders came from the cache
        assert run_all.main(argv(judge.base_url, tmp_path / "a", "--benchmarks", "rewardbench,judgebench",
                                 data=data)) == 0
        assert judge.call_count == JUDGMENTS["rewardbench"]  # a rerun resumes: nothing is generated again
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["conventions"]["generated"] == 0 and summary["conventions"]["reused"] == 48


def test_judgments_that_hit_the_budget_are_counted(tmp_path: Path) -> None:
    with LoopbackJudge(marker_policy("(checked)")) as judge:  # the server cuts replies at max_tokens words
        assert run_all.main(argv(judge.base_url, tmp_path, "--benchmarks", "judgebench", "--max-new-tokens", "2",
                                 data={"judgebench": DATA["judgebench"]})) == 0
    row = json.loads((tmp_path / "summary.json").read_text())["benchmarks"]["judgebench"]
    assert row["hit_budget"] == 10 and row["parse_failures"] == 10
    assert "generation budget 2 new tokens (--max-new-tokens)" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--benchmarks", "rewardbench,mtbench"], "mtbench"),  # unknown benchmark
    (["--benchmarks", "rmb"], "rmb needs --data rmb=PATH"),  # RMB asked for without its local copy
    (["--benchmarks", "judgebench", "--data", "rmb=x"], "which --benchmarks does not run"),  # data for another
    (["--data", "rmb"], "NAME=VALUE"),  # no value
])
def test_bad_flags_exit_2_with_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                            message: str) -> None:
    args = ["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--variant", "instruct", "--out", str(tmp_path),
            *extra]
    assert run_all.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_rmb_without_data_is_skipped_and_reported_when_not_asked_for(tmp_path: Path) -> None:
    data = {name: file for name, file in DATA.items() if name != "rmb"}
    flags = [f"--data={name}={SAMPLES / file}" for name, file in data.items()]
    args = run_all.make_parser().parse_args(["--variant", "instruct", *flags])
    loaded, skipped = run_all.load_all(args)
    assert "rmb" not in loaded and "no --data rmb=PATH" in skipped["rmb"]


@pytest.mark.parametrize("choice, tokens", [
    (PromptChoice(builtin_template("instruct"), "--variant", "instruct"), BUDGETS["instruct"]),  # 8192
    (PromptChoice(builtin_template("reasoning"), "--variant", "reasoning"), 50_000),  # upstream's budget
    (None, TEMPLATE_FILE_BUDGET),  # a released checkpoint's template file
])
def test_budget_per_variant(tmp_path: Path, choice: PromptChoice | None, tokens: int) -> None:
    if choice is None:
        file = tmp_path / "t.txt"
        file.write_text("=== user_single ===\n{question}\n{answer_a}\n{answer_b}\n{verdict_a} or {verdict_b}\n")
        choice = PromptChoice(load_template(file), "--prompt-template", None)
    assert choice.budget[0] == tokens


def test_an_out_folder_of_another_model_is_refused_before_any_request(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = {"judgebench": DATA["judgebench"]}
    with LoopbackJudge(marker_policy("(checked)")) as judge:
        assert run_all.main(argv(judge.base_url, tmp_path, "--benchmarks", "judgebench", data=data)) == 0
    with LoopbackJudge(marker_policy("(checked)"), model="another-judge") as judge:
        args = argv(judge.base_url, tmp_path, "--benchmarks", "judgebench", data=data)
        args[args.index("loopback-judge")] = "another-judge"
        assert run_all.main(args) == 2
        assert judge.call_count == 0
    assert "holds a run with judge 'openai:loopback-judge@" in capsys.readouterr().err
