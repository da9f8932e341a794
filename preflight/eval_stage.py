"""Preflight stage for evaluation: RewardBench on the bundled fixture, end to end, with the tiny local model.

It runs the real CLI, ``python eval/rewardbench.py``, as a subprocess (exactly what a user runs) with
the transformers backend on CPU on ``samples/rewardbench_sample.jsonl``, then reads the summary it
wrote. The tiny model has random weights, so its judgments are garbage and parse failures are
expected: the stage checks that the pipeline runs and that the report accounts for every judgment,
and prints the report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from testkit.tiny_model import ensure_tiny_model

REPO = Path(__file__).resolve().parents[1]
CLI = Path("eval") / "rewardbench.py"
FIXTURE = Path("preflight") / "samples" / "rewardbench_sample.jsonl"
MAX_NEW_TOKENS = 8  # random weights never say anything useful; a short budget keeps the stage fast
TIMEOUT_S = 300


def command(model_dir: Path, out_dir: Path) -> list[str]:
    """The CLI invocation the stage runs (paths relative to the repository where possible)."""
    return [sys.executable, str(CLI), "--ckpt", str(model_dir), "--backend", "hf", "--device", "cpu",
            "--variant", "instruct", "--data", str(FIXTURE), "--max-new-tokens", str(MAX_NEW_TOKENS),
            "--batch-size", "8", "--out", str(out_dir), "--no-progress"]


def check_accounting(summary: dict) -> int:
    """Number of judgments, after checking each one is generated or skipped and each parse has an outcome."""
    failures, counts = summary["failures"], summary["metadata"]["counts"]
    judgments = counts["judgments"]
    if judgments != 2 * counts["items"]:
        raise RuntimeError(f"{judgments} judgments for {counts['items']} items; --order both should give two each.")
    if failures["generated"] + sum(failures["skipped"].values()) != judgments:
        raise RuntimeError("the report does not account for every judgment (generated + skipped != judgments).")
    for mode in ("strict", "lenient"):
        if sum(failures[mode]["reasons"].values()) != failures[mode]["parse_failures"]:
            raise RuntimeError(f"{mode} parse failure reasons do not add up to the failure count.")
    return judgments


def run_stage(work_dir: Path) -> str:
    """Run the RewardBench CLI on the bundled fixture with the tiny model; a summary line, then the report."""
    work_dir = Path(work_dir).resolve()
    model_dir = ensure_tiny_model(work_dir / "tiny_model")
    out_dir = work_dir / "rewardbench"
    shutil.rmtree(out_dir, ignore_errors=True)  # a fresh run, so the stage really generates
    done = subprocess.run(command(model_dir, out_dir), cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"eval/rewardbench.py exited with {done.returncode}: {tail}")
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    judgments = check_accounting(summary)
    report = (out_dir / "report.md").read_text(encoding="utf-8").strip()
    failures = summary["failures"]
    score = summary["score"]
    shown = "n/a" if score is None else f"{100 * score:.2f}"
    return (f"RewardBench fixture: {summary['metadata']['counts']['items']} items x 2 orders = {judgments} judgments "
            f"with the tiny model, all accounted for; score {shown} (random weights: strict parse failures "
            f"{failures['strict']['parse_failures']}/{failures['generated']}, lenient "
            f"{failures['lenient']['parse_failures']}); reports in {out_dir.name}/\n{report}")
