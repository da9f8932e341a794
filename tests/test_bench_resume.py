"""SIGKILL `python eval/rmbench.py` mid-run, resume it: no request is answered twice, and the scores are exact.

RM-Bench expands each prompt into 9 comparisons, so this checks that resuming works per comparison
and order, not per item: the loopback judge answers requests 0..K-1 and holds request K; with one
request in flight, the kill lands when K results are cached. The resumed run must send exactly the
90 - K requests not yet cached, and its summary must equal an uninterrupted run's.
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

HELD = 31  # the request the server holds when the run is killed (inside the 4th prompt's comparisons)
TOTAL = 90  # 5 prompts x 9 comparisons x 2 orders


def _command(base_url: str, out: Path) -> list[str]:
    return [sys.executable, "eval/rmbench.py", "--base-url", base_url, "--model", "loopback-judge",
            "--variant", "instruct", "--data", "preflight/samples/rmbench_sample.jsonl", "--concurrency", "1",
            "--out", str(out), "--no-progress", "--no-plots"]


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the run did not reach the kill point in time"
        time.sleep(0.02)


def test_sigkill_then_resume_repeats_no_call_and_gives_identical_scores(repo_root: Path, tmp_path: Path) -> None:
    faults = lambda index: Fault.slow(120.0) if index == HELD else None  # noqa: E731 - a tiny schedule
    with LoopbackJudge(marker_policy("(checked)"), faults=faults) as judge:
        out = tmp_path / "killed"
        cache = out / "generations.jsonl"
        process = subprocess.Popen(_command(judge.base_url, out), cwd=repo_root, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        try:
            _wait_for(lambda: _lines(cache) == HELD and judge.call_count == HELD + 1)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert not (out / "summary.json").exists()

        resumed = subprocess.run(_command(judge.base_url, out), cwd=repo_root, capture_output=True, text=True,
                                 timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert judge.call_count == HELD + 1 + (TOTAL - HELD)  # only the uncached requests were sent again
        answered = Counter(call.prompt for call in judge.calls if call.status == 200)
        assert len(answered) == TOTAL and set(answered.values()) == {1}  # every prompt answered exactly once
        killed = json.loads((out / "summary.json").read_text())
        assert killed["metadata"]["volatile"]["cache_hits"] == HELD

        fresh_out = tmp_path / "fresh"
        fresh = subprocess.run(_command(judge.base_url, fresh_out), cwd=repo_root, capture_output=True, text=True,
                               timeout=120)
        assert fresh.returncode == 0, fresh.stderr
    uninterrupted = json.loads((fresh_out / "summary.json").read_text())
    assert killed["score"] == uninterrupted["score"] == pytest.approx(25 / 48)  # see test_bench_rmbench.py
    strip = lambda s: {k: v for k, v in s.items() if k != "metadata"}  # noqa: E731
    assert strip(killed) == strip(uninterrupted)
    assert (RunMetadata.from_dict(killed["metadata"]).content_hash()
            == RunMetadata.from_dict(uninterrupted["metadata"]).content_hash())
    assert (out / "items.jsonl").read_bytes() == (fresh_out / "items.jsonl").read_bytes()
