"""A distillation run SIGKILLed mid-pass resumes from its response cache without asking anything twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_prep.distill.passes import CachedResponse, ResponseCache, Teacher, request_key
from data_prep.distill.run import DistillOptions, distill
from testkit.cor_policies import case_teacher, write_case_rows
from testkit.loopback_judge import LoopbackJudge

ROWS = 6


def _cached_prompts(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    return [json.loads(line)["row_id"] for line in lines if line.endswith("\n")]


def test_sigkill_mid_pass_then_resume_asks_only_what_was_not_cached(tmp_path: Path, repo_root: Path) -> None:
    cases = [("correct", "A"), ("correct", "B")] * (ROWS // 2)
    source = write_case_rows(tmp_path / "distill.parquet", cases)
    cache = tmp_path / "sft" / "cache" / "teacher_responses.jsonl"
    with LoopbackJudge(case_teacher, delay_s=0.4) as judge:
        command = [sys.executable, str(repo_root / "data_prep" / "distill.py"), "--input", str(source),
                   "--out", str(tmp_path / "sft"), "--teacher-url", judge.base_url, "--teacher-model", judge.model,
                   "--max-concurrency", "1", "--no-progress", "--val-size", "0.2", "--max-tokens", "250"]
        child = subprocess.Popen(command, cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(_cached_prompts(cache)) < 2 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        first_calls = judge.call_count
    cached = set(_cached_prompts(cache))
    assert child.returncode == -signal.SIGKILL and 2 <= len(cached) < ROWS
    assert not (tmp_path / "sft" / "train.parquet").exists()
    with LoopbackJudge(case_teacher) as judge:
        teacher = Teacher(judge.base_url, judge.model, sampling={"max_tokens": 250})  # the child's settings
        result = distill(DistillOptions(input=source, out=tmp_path / "sft", teacher=teacher, val_size=0.2,
                                        progress=False))
        asked_again = [c.prompt for c in judge.calls]
    assert judge.call_count == ROWS - len(cached)  # every cached answer reused: zero repeated calls for them
    assert not any(f"Question {int(row_id[-2:])} " in prompt for row_id in cached for prompt in asked_again)
    assert result.counts["merged"]["kept"] == ROWS and first_calls >= len(cached)


def test_a_line_torn_by_a_kill_is_cut_off_and_the_rest_survives(tmp_path: Path) -> None:
    path = tmp_path / "responses.jsonl"
    key = request_key("m", [{"role": "user", "content": "q"}], {})
    with ResponseCache(path) as cache:
        cache.put(CachedResponse(key, "pass1", "r1", "m", "text", None, "stop", 1, 2))
    whole = path.read_text(encoding="utf-8")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(whole[: len(whole) // 2])  # what SIGKILL mid-write leaves: the first half of a record
    with ResponseCache(path) as cache:
        assert cache.torn_tail and len(cache) == 1 and cache.get(key).content == "text"
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_two_runs_cannot_share_one_cache(tmp_path: Path) -> None:
    from data_prep.distill.passes import CacheError

    with ResponseCache(tmp_path / "c.jsonl"), pytest.raises(CacheError, match="in use by another"):
        with ResponseCache(tmp_path / "c.jsonl"):
            pass


