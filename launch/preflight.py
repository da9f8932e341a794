"""CPU preflight of the whole pipeline on bundled sample data: the README's first command runs it.

    python -m launch.preflight [--work-dir DIR] [--only STAGE ...]

Each stage exercises one part of the real pipeline against the real dependency (verl 0.9.1, Hydra,
Ray) on CPU, up to the GPU boundary, and prints its time and a one-line summary; the stage's own
output goes to `<work dir>/<stage>.log`. A failing stage prints its error and the log's last lines,
and the preflight exits non-zero; later stages still run, so one report shows everything broken.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

SAMPLE_ROLLOUTS = Path(__file__).resolve().parent / "sample_data" / "rollouts.jsonl"
DEFAULT_WORK_DIR = Path("outputs") / "preflight"


@dataclass(frozen=True)
class Stage:
    name: str
    what: str
    target: str  # "module:function": takes the work dir, returns a summary line (+ optional report lines)


STAGES: list[Stage] = [
    Stage("reward", "score sample rollouts through verl's own reward manager", "launch.preflight:reward_stage"),
    Stage("data", "build both prompt variants from sample pairs, load them with verl", "data_prep.preflight:run_stage"),
    Stage("eval", "RewardBench fixtures end to end with the tiny model", "launch.eval_stage:run_stage"),
    Stage("launch", "validate mode for rl_qwen7b on a local Ray node", "launch.validate_preflight:run_stage"),
]


def reward_stage(work_dir: Path) -> str:
    """Score the bundled rollouts through verl's RewardLoopWorker + NaiveRewardManager; check each score."""
    from infra.tiny_model import ensure_tiny_model
    from infra.verl_reward import Rollout, VerlRewardScorer, build_batch, compose_reward_config

    rows = [json.loads(line) for line in SAMPLE_ROLLOUTS.read_text().splitlines() if line.strip()]
    rollouts = [Rollout(r["prompt"], r["response"], r["ground_truth"], r["data_source"]) for r in rows]
    scorer = VerlRewardScorer(compose_reward_config(str(ensure_tiny_model(work_dir / "tiny_model"))))
    rm_scores, extra = scorer.score(build_batch(scorer.tokenizer, rollouts))
    got = rm_scores.sum(dim=1).tolist()
    wrong = [
        f"{r['id']} scored {g:+.0f}, expected {r['expected_score']:+.0f}"
        for r, g in zip(rows, got, strict=True)
        if g != r["expected_score"]
    ]
    if wrong:
        raise RuntimeError("reward mismatch: " + "; ".join(wrong))
    return (
        f"{len(rows)} rollouts scored as expected: mean reward {sum(got) / len(got):+.2f}, "
        f"acc {extra['acc'].mean():.2f}, format_ok {extra['format_ok'].mean():.2f}, "
        f"metric keys {sorted(extra)}"
    )


def _resolve(target: str) -> Callable[[Path], str]:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


@contextmanager
def _output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr, and its children's, to ``log_path`` (fd level, not just sys.*)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w", buffering=1) as log, redirect_stdout(log), redirect_stderr(log):
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run(stages: list[Stage], work_dir: Path) -> bool:
    """Run ``stages`` in order, printing name, time and summary; True if all passed.

    Each stage's own output (library progress bars, verl's prints) goes to ``<work_dir>/<stage>.log``;
    the log's tail is shown when the stage fails."""
    ok, total = True, time.perf_counter()
    for i, stage in enumerate(stages, 1):
        print(f"[{i}/{len(stages)}] {stage.name}: {stage.what} ...", flush=True)
        log_path = work_dir / f"{stage.name}.log"
        start = time.perf_counter()
        try:
            with _output_to(log_path):
                try:
                    summary = _resolve(stage.target)(work_dir / stage.name)
                except Exception:
                    traceback.print_exc()
                    raise
            status = "ok"
        except Exception as exc:  # a stage's failure is reported, then the next stage runs
            ok, status, summary = False, "FAILED", f"{type(exc).__name__}: {exc}"
            print(f"--- last lines of {log_path} ---\n{_tail(log_path)}\n---", flush=True)
        first, *details = summary.splitlines() or [""]
        print(f"    {status} in {time.perf_counter() - start:.1f}s: {first}", flush=True)
        for line in details:  # a stage may return a report after its summary line
            print(f"    {line}", flush=True)
    verdict = "passed" if ok else "FAILED"
    print(f"preflight {verdict}: {len(stages)} stages in {time.perf_counter() - total:.1f}s (work dir {work_dir})")
    return ok


def main(argv: list[str] | None = None) -> int:
    names = [s.name for s in STAGES]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help=f"scratch folder (default {DEFAULT_WORK_DIR})"
    )
    parser.add_argument("--only", nargs="+", choices=names, metavar="STAGE", help=f"run only these stages: {names}")
    args = parser.parse_args(argv)
    stages = [s for s in STAGES if not args.only or s.name in args.only]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    return 0 if run(stages, args.work_dir) else 1


if __name__ == "__main__":
    raise SystemExit(main())
