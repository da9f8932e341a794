"""Evaluation overhead: everything except generation, with an instant judge backend.

    python benchmarks/eval_overhead.py              # ~30 s
    python benchmarks/eval_overhead.py --json out.json

Prints two numbers (targets from the evaluation issue):
1. RewardBench in both orders (2,985 synthetic rows in the official subset sizes = 5,970 judgments):
   load + render + cache keys + cache appends + parse (strict and lenient) + aggregation + reports,
   per judgment, with plots and without.                                        (target <= 0.3 ms)
2. A full-cache rerun of 24,000 judgments (12,000 rows x 2 orders): wall time and backend calls.
                                                                                  (target: 0 calls)
Process start-up is excluded: every module is imported, and matplotlib has loaded its fonts (one dummy
figure), before the clock starts. The instant backend answers each request with a ~2 KB
Chain-of-Rubrics text ending in a verdict. The machine's speed matters: numbers are for comparing runs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot; imported up front because start-up is not what is measured
import matplotlib.pyplot as plt

from eval.backends.base import Generation, OnResult, Request, Sampling
from eval.benchmarks.rewardbench import BENCHMARK
from eval.cache import GenerationCache
from eval.evaluate import EvalConfig, evaluate
from eval.judge_prompt import choose_prompt
from eval.report import EvalRun, write_reports
from reward_fns import format_verdict
from testkit.scripted_backend import ScriptedBackend

REAL_SIZES = {"math-prm": 447}  # the other subsets have as many rows as their official example count
WORDS = "the answer is correct because each step follows and the code handles the edge case well".split()


def synthetic_rows(n_rows: int, seed: int = 0) -> list[dict[str, Any]]:
    """RewardBench-schema rows spread over the 23 subsets in the official proportions (2,985 for the real size)."""
    from eval.benchmarks.rewardbench import EXAMPLE_COUNTS

    sizes = {s: REAL_SIZES.get(s, c) for s, c in EXAMPLE_COUNTS.items()}
    total = sum(sizes.values())
    rng = random.Random(seed)
    rows = []
    for subset, size in sizes.items():
        for _ in range(max(1, round(size * n_rows / total))):
            text = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))  # noqa: E731
            rows.append({"id": len(rows), "prompt": text(60), "chosen": text(250), "rejected": text(250),
                         "subset": subset, "chosen_model": "m1", "rejected_model": "m2"})
    return rows[:n_rows] if len(rows) > n_rows else rows


def judge_text(rng: random.Random) -> str:
    """A ~2 KB CoR-shaped judgment ending in a verdict."""
    body = " ".join(rng.choice(WORDS) for _ in range(330))
    return f"<type>Chat</type>\n<rubric>{body[:600]}</rubric>\n<eval>{body[600:]}</eval>\n{format_verdict('A')}"


class InstantBackend(ScriptedBackend):
    """Answers every request at once with a fixed ~2 KB judgment; counts calls."""

    def __init__(self) -> None:
        super().__init__("always_a", model_name="instant")
        self.text = judge_text(random.Random(1))

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        for index in range(len(requests)):
            self.calls += 1
            on_result(index, Generation(self.text, "stop"))


def run_once(data_file: Path, out: Path, backend: InstantBackend, plots: bool) -> tuple[float, float, int, dict]:
    """(wall seconds, CPU seconds, judgments, summary) for load -> evaluate -> reports."""
    prompt = choose_prompt("instruct", None, None)
    config = EvalConfig(progress=False)
    start, cpu = time.perf_counter(), time.process_time()
    data = BENCHMARK.load_data(str(data_file), None, None)
    with GenerationCache(out / "generations.jsonl") as cache:
        result = evaluate(BENCHMARK, data, prompt.template, backend, cache, config)
    run = EvalRun(BENCHMARK, data, config, prompt, backend.describe(), backend.model_id,
                  tool="benchmarks.eval_overhead")
    summary = write_reports(out, run, result, plots=plots)
    return time.perf_counter() - start, time.process_time() - cpu, result.stats.judgments, summary


def warm_matplotlib() -> None:
    """Pay matplotlib's one-time font loading outside the clock (it is process start-up, like imports)."""
    fig, ax = plt.subplots()
    ax.bar([0], [1], label="warm-up")
    ax.legend()
    ax.set_title("warm-up")
    fig.canvas.draw()
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2985, help="RewardBench rows for number 1 (default 2,985)")
    parser.add_argument("--rerun-rows", type=int, default=12000, help="rows for the full-cache rerun (default 12,000)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh runs per measurement; the best counts")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON (to compare runs)")
    args = parser.parse_args(argv)
    warm_matplotlib()
    result: dict[str, Any] = {"python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "rb.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(args.rows)), encoding="utf-8")
        for plots in (True, False):
            runs = []
            for attempt in range(args.repeat):  # a fresh cache each time; the best run is the least disturbed
                backend = InstantBackend()
                runs.append(run_once(data, work / f"fresh-{plots}-{attempt}", backend, plots))
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
            judgments = runs[0][2]
            label = "with plots" if plots else "no plots"
            print(f"fresh run, {judgments:,} judgments ({label}, best of {args.repeat}): {wall:.2f} s wall = "
                  f"{1000 * wall / judgments:.3f} ms/judgment ({1000 * cpu / judgments:.3f} ms CPU); "
                  f"{backend.calls:,} instant backend calls   target <= 0.3 ms")
            key = "plots" if plots else "no_plots"
            result[f"fresh_ms_per_judgment_{key}"] = 1000 * wall / judgments
            result[f"fresh_cpu_ms_per_judgment_{key}"] = 1000 * cpu / judgments
        result["fresh_judgments"] = judgments

        big = work / "big.jsonl"
        big.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(args.rerun_rows, seed=1)),
                       encoding="utf-8")
        run_once(big, work / "rerun", InstantBackend(), plots=False)  # fills the cache
        backend = InstantBackend()
        seconds, _, judgments, summary = run_once(big, work / "rerun", backend, plots=False)
        hits = summary["metadata"]["volatile"]["cache_hits"]
        print(f"full-cache rerun, {judgments:,} judgments: {seconds:.2f} s = {1000 * seconds / judgments:.3f} "
              f"ms/judgment; {hits:,} cache hits, {backend.calls} backend calls   target: 0 calls")
        result.update(rerun_judgments=judgments, rerun_seconds=seconds, rerun_backend_calls=backend.calls,
                      rerun_cache_hits=hits)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
