"""SIGKILL an eval CLI mid-run, resume it: no request is answered twice, and the outputs are exact.

The loopback judge answers requests 0..K-1 and holds request K (a scripted slow fault); with one
request in flight at a time, the kill lands when K results are cached and request K is unanswered.
A torn last line is then appended to the cache, as a kill inside a write would leave. The resumed
run must send exactly the N - K requests not yet cached (the held one included), so every prompt is
answered exactly once at the server, cut the torn bytes, and write what an uninterrupted run writes
(every summary without its volatile metadata, the same content hashes, byte-identical per-item files).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.run_metadata import RunMetadata
from testkit.loopback_judge import Fault, LoopbackJudge
from testkit.loopback_policies import marker_policy

S = "preflight/samples"
RUN_ALL = ["eval/run_all.py", "--benchmarks", "judgebench,rmbench", "--data", f"judgebench={S}/judgebench_sample.jsonl",
           "--data", f"rmbench={S}/rmbench_sample.jsonl"]
REWARDBENCH = ((100 * 3.5 / 4 + 40 * 0.5) / 140 + (100 * 0.5 + 46) / 146 + 2 / 3 + (984 + 164 / 3) / 1148) / 4
CASES = [
    # RewardBench: 23 comparisons x 2 orders; the hand-computed marker-judge score (see test_eval_cli.py)
    pytest.param(["eval/rewardbench.py", "--data", f"{S}/rewardbench_sample.jsonl"], 20, 46, "summary.json", 20,
                 {"summary.json": REWARDBENCH}, id="rewardbench"),
    # RM-Bench: 5 prompts x 9 comparisons x 2 orders, killed inside the 4th prompt: resume is per comparison
    # and order, not per item (score: see test_bench_rmbench.py)
    pytest.param(["eval/rmbench.py", "--data", f"{S}/rmbench_sample.jsonl"], 31, 90, "summary.json", 31,
                 {"summary.json": 25 / 48}, id="rmbench"),
    # run_all: JudgeBench's 10 requests done, killed at the same point of RM-Bench; one cache for both
    pytest.param(RUN_ALL, 41, 100, "rmbench/summary.json", 31, {"rmbench/summary.json": 25 / 48}, id="run_all"),
]


def _command(cli: list[str], base_url: str, out: Path) -> list[str]:
    return [sys.executable, *cli, "--base-url", base_url, "--model", "loopback-judge", "--variant", "instruct",
            "--concurrency", "1", "--out", str(out), "--no-progress", "--no-plots"]


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, errors: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before the kill point: {errors.read_text()}"
        assert time.monotonic() < deadline, "the run did not reach the kill point in time"
        time.sleep(0.02)


def _outputs(out: Path) -> dict[str, object]:
    """Every summary (its metadata reduced to the content hash) and every per-item file, by relative path."""
    found: dict[str, object] = {}
    for path in sorted(out.rglob("summary.json")):
        summary = json.loads(path.read_text())
        metadata = summary.pop("metadata")
        if "inputs" in metadata:  # a benchmark's run metadata (the combined summary carries only its identity)
            summary["content_hash"] = RunMetadata.from_dict(metadata).content_hash()
        for count in ("generated", "reused"):  # the combined summary's counts of this run's own work
            summary.get("conventions", {}).pop(count, None)
        found[str(path.relative_to(out))] = summary
    for path in sorted(out.rglob("items.jsonl")):
        found[str(path.relative_to(out))] = path.read_bytes()
    return found


@pytest.mark.parametrize(("cli", "held", "total", "killed_in", "hits", "scores"), CASES)
def test_sigkill_then_resume_repeats_no_call_and_gives_identical_outputs(repo_root: Path, tmp_path: Path, cli,
                                                                          held, total, killed_in, hits,
                                                                          scores) -> None:
    faults = lambda index: Fault.slow(120.0) if index == held else None  # noqa: E731 - a tiny schedule
    with LoopbackJudge(marker_policy("(checked)"), faults=faults) as judge:
        out = tmp_path / "killed"
        cache = out / "generations.jsonl"
        errors = tmp_path / "killed.stderr"
        with errors.open("wb") as stderr:
            process = subprocess.Popen(_command(cli, judge.base_url, out), cwd=repo_root, stdout=subprocess.DEVNULL,
                                       stderr=stderr)
        try:
            _wait_for(lambda: _lines(cache) == held and judge.call_count == held + 1, process, errors)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert not (out / "summary.json").exists()  # killed before any report: nothing half-written
        with open(cache, "ab") as handle:
            handle.write(b'{"key": "0123456789abcdef", "text": "<answer>[[')

        resumed = subprocess.run(_command(cli, judge.base_url, out), cwd=repo_root, capture_output=True, text=True,
                                 timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert judge.call_count == held + 1 + (total - held)  # only the uncached requests were sent again
        answered = Counter(call.prompt for call in judge.calls if call.status == 200)
        assert len(answered) == total and set(answered.values()) == {1}  # every prompt answered exactly once
        assert _lines(cache) == total  # the torn bytes were cut, not glued to the next record
        volatile = json.loads((out / killed_in).read_text())["metadata"]["volatile"]
        assert volatile["backend_calls"] == total - held and volatile["cache_hits"] == hits
        assert volatile["cache_torn_tail"] is True

        fresh_out = tmp_path / "fresh"
        fresh = subprocess.run(_command(cli, judge.base_url, fresh_out), cwd=repo_root, capture_output=True,
                               text=True, timeout=120)
        assert fresh.returncode == 0, fresh.stderr
    for path, score in scores.items():
        assert json.loads((out / path).read_text())["score"] == pytest.approx(score)
    assert _outputs(out) == _outputs(fresh_out)
