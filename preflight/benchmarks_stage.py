"""Preflight stage for every benchmark: ``eval/run_all.py`` once over all bundled fixtures with the tiny local model.

One subprocess runs the real CLI (what a user runs) with the transformers backend on CPU over the
RewardBench, RM-Bench, RMB (synthetic, in the repository's layout), RewardBench 2 and JudgeBench
fixtures in ``preflight/samples/``, through one shared generation cache. To keep the stage short it
reuses the eval stage's tiny model and copies that stage's RewardBench generations into its cache
(same model, prompt and budget, so those judgments are cache hits), judges one seeded order per
comparison (``--order random``: half the generations; the tests cover both orders with exact
scores against a scripted judge) and writes no plots. The tiny
model has random weights: the stage checks that every benchmark ran, that each report accounts for
every judgment, and that the combined report lists them all, then prints the combined report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from testkit.tiny_model import ensure_tiny_model

REPO = Path(__file__).resolve().parents[1]
CLI = Path("eval") / "run_all.py"
SAMPLES = Path("preflight") / "samples"
FIXTURES = {"rewardbench": "rewardbench_sample.jsonl", "rmbench": "rmbench_sample.jsonl", "rmb": "rmb_sample",
            "rewardbench2": "rewardbench2_sample.jsonl", "judgebench": "judgebench_sample.jsonl"}
JUDGMENTS = {"rewardbench": 23, "rmbench": 45, "rmb": 12, "rewardbench2": 24, "judgebench": 5}  # one order each
MAX_NEW_TOKENS = 8  # the eval stage's budget: its cached RewardBench generations stay valid here
TIMEOUT_S = 300


def command(model_dir: Path, out_dir: Path) -> list[str]:
    """The CLI invocation the stage runs."""
    data = [f"--data={name}={SAMPLES / file}" for name, file in FIXTURES.items()]
    return [sys.executable, str(CLI), "--ckpt", str(model_dir), "--backend", "hf", "--device", "cpu",
            "--variant", "instruct", "--max-new-tokens", str(MAX_NEW_TOKENS), "--batch-size", "16", "--order", "random",
            "--out", str(out_dir), "--no-progress", "--no-plots", *data]


def check(out_dir: Path) -> dict:
    """The combined summary, after checking every benchmark ran and accounted for every judgment."""
    combined = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    if list(combined["benchmarks"]) != list(FIXTURES):
        raise RuntimeError(f"run_all reported {list(combined['benchmarks'])}; expected {list(FIXTURES)}.")
    for name, expected in JUDGMENTS.items():
        summary = json.loads((out_dir / name / "summary.json").read_text(encoding="utf-8"))
        failures = summary["failures"]
        if failures["judgments"] != expected:
            raise RuntimeError(f"{name}: {failures['judgments']} judgments; the fixture needs {expected}.")
        if failures["generated"] + sum(failures["skipped"].values()) != expected:
            raise RuntimeError(f"{name}: the report does not account for every judgment.")
        for mode in ("strict", "lenient"):
            if sum(failures[mode]["reasons"].values()) != failures[mode]["parse_failures"]:
                raise RuntimeError(f"{name}: {mode} parse failure reasons do not add up to the failure count.")
    return combined


def run_stage(work_dir: Path) -> str:
    """Run run_all over every fixture with the tiny model; a summary line, then the combined report."""
    work_dir = Path(work_dir).resolve()
    eval_dir = work_dir.parent / "eval"
    model_dir = ensure_tiny_model(eval_dir / "tiny_model")  # the eval stage's model (built here if absent)
    out_dir = work_dir / "all"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    earlier = eval_dir / "rewardbench" / "generations.jsonl"
    if earlier.is_file():
        shutil.copyfile(earlier, out_dir / "generations.jsonl")
    done = subprocess.run(command(model_dir, out_dir), cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"eval/run_all.py exited with {done.returncode}: {tail}")
    combined = check(out_dir)
    conv = combined["conventions"]
    report = (out_dir / "report.md").read_text(encoding="utf-8").strip()
    return (f"run_all over {len(FIXTURES)} benchmark fixtures: {sum(JUDGMENTS.values())} judgments with the tiny "
            f"model ({conv['generated']} generated, {conv['reused']} from the shared cache), all accounted for; "
            f"reports in {out_dir.name}/\n{report}")
