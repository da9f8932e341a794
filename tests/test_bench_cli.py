"""Each new benchmark CLI on its fixture (in-process): the hand-computed score; bad input exits 2."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples"


@pytest.mark.parametrize("cli, data, score", [
    ("rmbench", "rmbench_sample.jsonl", 25 / 48),  # see test_bench_rmbench.py
    ("rmb", "rmb_sample", 0.6875),  # see test_bench_rmb.py
    ("rewardbench2", "rewardbench2_sample.jsonl", 43 / 72),  # see test_bench_rewardbench2.py
    ("judgebench", "judgebench_sample.jsonl", 0.6),  # see test_bench_judgebench.py
])
def test_cli_scores_its_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str], cli: str, data: str,
                                score: float) -> None:
    main = importlib.import_module(f"eval.{cli}").main
    with LoopbackJudge(marker_policy("(checked)")) as judge:
        assert main(["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct",
                     "--data", str(SAMPLES / data), "--out", str(tmp_path), "--no-progress", "--no-plots"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["benchmark"] == cli and summary["score"] == pytest.approx(score)
    # a fixture is a few rows of the official set: partial, with the counts in the headline and summary
    assert summary["complete"] is False and summary["coverage"]["scored"] < (summary["coverage"]["official"] or 99)
    out = capsys.readouterr().out
    assert f"{100 * score:.2f}" in out and "INCOMPLETE (partial: " in out  # the console headline says partial


@pytest.mark.parametrize("cli, data, message", [
    ("rmb", None, "needs --data"),  # RMB has no default: never downloaded
    ("rmb", "rmbench_sample.jsonl", "is not a folder"),  # a file where RMB's folder belongs
    ("rmbench", "rmb_sample", "has no file of split 'train'"),  # a folder of another benchmark's rows
    ("judgebench", "rewardbench_sample.jsonl", "lacks columns"),  # another benchmark's rows
])
def test_bad_data_exits_2_with_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str], cli: str,
                                            data: str | None, message: str) -> None:
    main = importlib.import_module(f"eval.{cli}").main
    args = ["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--variant", "instruct", "--out", str(tmp_path)]
    assert main(args + (["--data", str(SAMPLES / data)] if data else [])) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
