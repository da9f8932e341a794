"""eval/leaderboard.py: one table across run_all outputs, intervals, and the protocol check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval import leaderboard, run_all
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples"
REWARDBENCH = ((100 * 3.5 / 4 + 40 * 0.5) / 140 + (100 * 0.5 + 46) / 146 + 2 / 3 + (984 + 164 / 3) / 1148) / 4


@pytest.fixture(scope="module")
def run_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run_all output over RewardBench and JudgeBench samples, judged by the marker judge (exact scores)."""
    out = tmp_path_factory.mktemp("runs") / "judge-a"
    with LoopbackJudge(marker_policy("(checked)")) as judge:
        assert run_all.main(["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct",
                             "--out", str(out), "--no-progress", "--no-plots", "--benchmarks", "rewardbench,judgebench",
                             f"--data=rewardbench={SAMPLES / 'rewardbench_sample.jsonl'}",
                             f"--data=judgebench={SAMPLES / 'judgebench_sample.jsonl'}"]) == 0
    return out


def variant(run: Path, tmp_path: Path, name: str, **conventions: object) -> Path:
    """A copy of ``run`` whose benchmark summaries state other conventions (another protocol)."""
    copy = tmp_path / name
    shutil.copytree(run, copy)
    for summary in copy.glob("*/summary.json"):
        data = json.loads(summary.read_text())
        data["conventions"].update(conventions)
        summary.write_text(json.dumps(data))
    return copy


def test_one_table_with_the_protocol_stated_once(run_a: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    twin = variant(run_a, tmp_path, "judge-b")  # same protocol: one column each
    out = tmp_path / "board"
    assert leaderboard.main([str(run_a), str(twin), "--out", str(out), "--resamples", "200"]) == 0
    text = (out / "leaderboard.md").read_text()
    assert text == capsys.readouterr().out
    assert text.count("prompt version cor-v1; order both; parse mode strict; parse-failure score 0.0; budget 8192; "
                      "votes 1") == 1
    assert "| model | rewardbench | judgebench |" in text
    row = next(line for line in text.splitlines() if line.startswith("| judge-a |"))
    assert row.startswith(f"| judge-a | {100 * REWARDBENCH:.2f} [") and "| 60.00 [" in row
    assert (out / "leaderboard.png").read_bytes().startswith(b"\x89PNG")


def test_intervals_contain_the_score(run_a: Path) -> None:
    table = leaderboard.build([str(run_a)], resamples=200, seed=0)
    for cell in table["judge-a"].values():
        assert cell.low is not None and cell.high is not None and cell.score is not None
        assert cell.low <= cell.score <= cell.high


# (conventions changed in the second run, the protocol field the refusal names)
MIXED = [
    ({"parse_failure_score": 0.5}, "parse-failure score"),  # RewardBench's official 0.5 vs our 0
    ({"order": "random"}, "order"),  # one order vs both
    ({"parse_mode": "lenient"}, "parse mode"),  # lenient parse
    ({"votes": 8}, "votes"),  # majority of 8 samples vs one greedy judgment
]


@pytest.mark.parametrize(("changed", "field"), MIXED)
def test_runs_of_different_protocols_are_refused_in_one_column(run_a: Path, tmp_path: Path, changed: dict[str, object],
                                                                field: str, capsys: pytest.CaptureFixture[str]) -> None:
    other = variant(run_a, tmp_path, "judge-b", **changed)
    assert leaderboard.main([str(run_a), str(other), "--resamples", "100"]) == 2
    err = capsys.readouterr().err
    assert f"different protocols ({field})" in err and "--allow-mixed" in err and len(err.strip().splitlines()) == 1
    assert leaderboard.main([str(run_a), str(other), "--resamples", "100", "--allow-mixed"]) == 0
    text = capsys.readouterr().out
    assert "(a)" in text and "Cells under another protocol" in text and "unmarked scores" in text


def test_a_run_without_votes_recorded_counts_as_one_vote() -> None:
    assert dict(leaderboard.protocol_of({"conventions": {}, "metadata": {}}))["votes"] == 1


def test_out_inside_a_run_is_refused(run_a: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert leaderboard.main([str(run_a), "--out", str(run_a / "board")]) == 2
    assert "could destroy that input" in capsys.readouterr().err


def test_a_folder_without_a_summary_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert leaderboard.main([str(tmp_path)]) == 2
    assert "has no summary.json" in capsys.readouterr().err
