"""CPU preflight of the whole pipeline on bundled sample data: the README's first command runs it.

    python -m preflight [--work-dir DIR] [--only STAGE ...]

Each stage exercises one part of the real pipeline against the real dependency (verl 0.9.1, Hydra,
Ray) on CPU, up to the GPU boundary, and prints its time and a one-line summary; the stage's own
output goes to `<work dir>/<stage>.log`. A failing stage prints its error and the log's last lines,
and the preflight exits non-zero; later stages still run, so one report shows everything broken.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from infra.cli_errors import OneLineParser, run_cli
from preflight import (
    benchmarks_stage,
    data_stage,
    distill_stage,
    eval_stage,
    launch_stage,
    policy_stage,
    reward_stage,
    robustness_stage,
)

DEFAULT_WORK_DIR = Path("outputs") / "preflight"


@dataclass(frozen=True)
class Stage:
    name: str
    what: str
    run: Callable[[Path], str]  # takes the stage's work dir, returns a summary line (+ optional report lines)


STAGES: list[Stage] = [
    Stage("reward", "score sample rollouts through verl's own reward manager", reward_stage.run_stage),
    Stage("data", "build both prompt variants from sample pairs, load them with verl", data_stage.run_stage),
    Stage("eval", "RewardBench fixtures end to end with the tiny model", eval_stage.run_stage),
    Stage("benchmarks", "run_all over every benchmark fixture with the tiny model, one cache",
          benchmarks_stage.run_stage),
    Stage("robustness", "the robustness suite on fixture pairs against two scripted judges",
          robustness_stage.run_stage),
    Stage("launch", "validate mode for rl_qwen7b on a local Ray node", launch_stage.run_stage),
    Stage("distill", "pass 1 against the loopback judge on sample pairs, SFT parquet through verl",
          distill_stage.run_stage),
    Stage("policy", "the judge as a policy reward: scripted rollouts through verl's reward loop, monitor metrics",
          policy_stage.run_stage),
]


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
                    summary = stage.run(work_dir / stage.name)
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


def main(argv: Sequence[str] | None = None) -> int:
    names = [s.name for s in STAGES]
    parser = OneLineParser(prog="python -m preflight", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help=f"scratch folder (default {DEFAULT_WORK_DIR})"
    )
    parser.add_argument("--only", nargs="+", choices=names, metavar="STAGE", help=f"run only these stages: {names}")
    args = parser.parse_args(argv)
    stages = [s for s in STAGES if not args.only or s.name in args.only]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    return 0 if run(stages, args.work_dir) else 1


if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog="python -m preflight"))
