"""Official data through the CLIs and run_all: every bad row named in one run, unrenderable rows skipped and
counted, degenerate rows listed, partial runs named, and the report labels that say what a number is.

Synthetic rows only (testkit/official_layouts.py); the loopback marker judge answers over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import judgebench as judgebench_cli
from eval import rewardbench2 as rewardbench2_cli
from eval import rmb as rmb_cli
from eval import run_all
from eval.benchmarks import judgebench, rmb
from eval.errors import EvalError
from testkit import official_layouts as layouts
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import fixed_text, marker_policy


@pytest.fixture(scope="module")
def judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy(layouts.MARK)) as server:
        yield server


def flags(judge: LoopbackJudge, out: Path, *extra: str) -> list[str]:
    return ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--out", str(out),
            "--no-progress", "--no-plots", *extra]


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def pair(n: int, **change: object) -> dict:
    return {"pair_id": f"j{n}", "original_id": "o", "source": "mmlu-pro-x", "question": f"Q{n}?",
            "response_model": "m", "response_A": f"right {layouts.MARK}", "response_B": "wrong",
            "label": "A>B"} | change


def test_every_bad_row_is_named_in_one_run_numbered_and_capped(tmp_path: Path, judge: LoopbackJudge,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    rows = [pair(n, pair_id=None) if n % 2 else pair(n) for n in range(26)]  # 13 rows without an id
    data = jsonl(tmp_path / "rows.jsonl", rows)
    calls = judge.call_count
    assert judgebench_cli.main(flags(judge, tmp_path / "out", "--data", str(data))) == 2  # was: the first only
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "JudgeBench --data has 13 problems: 1) JudgeBench line 2 of rows.jsonl has pair_id None" in err
    assert "10) JudgeBench line 20 of rows.jsonl" in err and "; and 3 more; fix or drop those rows." in err
    assert judge.call_count == calls and not (tmp_path / "out").exists()


def test_repeated_ids_and_bad_rmb_rows_in_several_files_are_listed_together(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match=r"has 2 problems: 1\) the id 'j1' twice; 2\) the id 'j2' 3 times"):
        judgebench.BENCHMARK.load_data(str(jsonl(tmp_path / "r.jsonl", [pair(1), pair(1), *[pair(2)] * 3])), None, None)
    root = layouts.rmb_dataset(tmp_path / "rmb", pairs_per_file=1, bon=(74, 24))
    for name in ("Harmlessness/S3.json", "Harmlessness/S7.json"):
        (root / "Pairwise_set" / name).write_text(json.dumps([{"pair_uid": "x"}]))
    with pytest.raises(EvalError, match=r"RMB --data has 2 problems: 1\) RMB row 1 of Pairwise_set/Harmlessness/S3"
                                        r"\.json lacks .*2\) RMB row 1 of Pairwise_set/Harmlessness/S7\.json lacks"):
        rmb.BENCHMARK.load_data(str(root), None, None)


def test_a_row_no_judge_request_can_show_is_skipped_with_its_reason_and_the_run_goes_on(
        tmp_path: Path, judge: LoopbackJudge) -> None:
    root = layouts.rmb_dataset(tmp_path / "rmb", pairs_per_file=1, bon=(74, 24))  # a quick partial set
    file = root / "Pairwise_set" / "Harmlessness" / "S2.json"
    rows = json.loads(file.read_text())
    rows[0]["conversation_input"].append({"role": "assistant", "content": "no user turn after me"})
    file.write_text(json.dumps(rows))
    assert rmb_cli.main(flags(judge, tmp_path / "out", "--data", str(root))) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    cov = summary["coverage"]
    assert summary["complete"] is False and cov["skipped"]["count"] == 1
    assert cov["skipped"]["rows"][0].startswith("RMB row 1 of Pairwise_set/Harmlessness/S2.json: comparison")
    assert "must end with the client's (user) message" in cov["skipped"]["rows"][0]
    assert "1 rows skipped (no judge request could be rendered)" in cov["partial"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "rows skipped (no judge request could be rendered; not judged, counted as missing): 1" in report
    assert "degenerate rows, judged as published and scored by the benchmark's rule: 5 (" in report


def test_the_full_judgebench_claude_split_runs_complete_through_its_cli(tmp_path: Path, judge: LoopbackJudge,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = layouts.judgebench_folder(tmp_path / "data")  # both files: --split picks claude's 270 pairs
    assert judgebench_cli.main(flags(judge, tmp_path / "out", "--data", str(folder), "--split", "claude")) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["complete"] is True and summary["score"] == pytest.approx(269 / 270)  # pair 265: net 0
    cov = summary["coverage"]
    assert (cov["scored"], cov["official"], cov["degenerate"]["ids"]) == (270, 270, ["claude-264"])
    assert "COMPLETE (270 of 270 official rows scored; split claude)" in capsys.readouterr().out
    assert "degenerate rows, judged as published and scored by the benchmark's rule: 1 (identical answers 1): " \
           "`claude-264`" in (tmp_path / "out" / "report.md").read_text()


def test_run_all_names_a_partial_benchmark_beside_a_complete_one(tmp_path: Path, judge: LoopbackJudge) -> None:
    folder = layouts.judgebench_folder(tmp_path / "jb")
    chat = layouts.rmbench_repository(tmp_path / "rmbench") / "chat_filtered.json"  # one of the 5 domain files
    assert run_all.main(flags(judge, tmp_path / "out", "--benchmarks", "judgebench,rmbench", "--data",
                              f"judgebench={folder}", "--split", "judgebench=claude", "--data", f"rmbench={chat}")) == 0
    rows = json.loads((tmp_path / "out" / "summary.json").read_text())["benchmarks"]
    assert rows["judgebench"]["complete"] is True and rows["rmbench"]["complete"] is False
    combined = (tmp_path / "out" / "report.md").read_text()
    assert "(incomplete: 129 of 1,327 official rows)" in combined and "counts 0 in the net of both orders" in combined
    rm_summary = json.loads((tmp_path / "out" / "rmbench" / "summary.json").read_text())
    assert rm_summary["coverage"]["scored"] == 129 and rm_summary["coverage"]["official"] == 1327
    assert "code 0 of 228" in rm_summary["coverage"]["partial"]
    assert rm_summary["coverage"]["degenerate"]["ids"] == ["chat:0"]
    assert "INCOMPLETE (partial: 129 of 1,327 official rows scored; code 0 of 228" in \
        (tmp_path / "out" / "rmbench" / "report.md").read_text()


def test_judgebench_says_a_missing_verdict_counts_0_in_the_net_whatever_the_flag(tmp_path: Path) -> None:
    data = jsonl(tmp_path / "rows.jsonl", [pair(1), pair(2)])
    with LoopbackJudge(fixed_text("no verdict here")) as silent:
        assert judgebench_cli.main(flags(silent, tmp_path / "out", "--data", str(data), "--parse-failure-score",
                                         "0.5")) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["score"] == 0.0  # net 0 on every pair: 0.5 never enters the net
    report = (tmp_path / "out" / "report.md").read_text()
    assert "a judgment without a verdict counts 0 in the net of both orders (+1 right, -1 wrong), whatever " \
           "--parse-failure-score 0.5 says" in report
    assert "no verdict scores 0.5" not in report  # what the report said before


def test_rewardbench2_labels_its_micro_mean_as_a_mean_over_prompts(tmp_path: Path, judge: LoopbackJudge) -> None:
    data = layouts.rewardbench2_file(tmp_path / "test.jsonl")
    assert rewardbench2_cli.main(flags(judge, tmp_path / "out", "--data", str(data), "--limit", "12")) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["conventions"]["micro_mean"].startswith("micro mean over prompts")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| micro mean over prompts (each prompt's best-of-4 score; not the score) |" in report
    assert "micro mean (all comparisons" not in report
    assert "is never a win, whatever --parse-failure-score 0 says" in report
