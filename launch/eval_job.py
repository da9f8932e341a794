"""The cluster-eval job: one Slurm step per replica (its own GPUs), then merge, one re-scoring run, the model card.

    python -m launch.eval_job SPEC.json        (run by launch/eval.sbatch on the first node)

Replica ``i`` runs ``eval/run_all.py --shard i/N`` in ``srun --exact --gres=gpu:TP`` on the node
:func:`launch.eval_cluster.placement` gives it, so replicas never share a GPU. When every replica
succeeded, the shard caches are merged and one unsharded run re-scores from the merged cache (no
generation: every judgment is cached), then the card gets the scores. A failed replica stops the job
before the merge; the shard caches stay, so resubmitting the same command resumes without repeating a
request. Validate mode runs ``launch.eval_validate`` in each replica's step and writes one report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from infra.atomic_files import write_text_atomic
from launch.eval_cluster import EvalSpec, placement

POLL_S = 1.0


def log(message: str) -> None:
    print(f"[eval {time.strftime('%H:%M:%S')}] {message}", flush=True)


def step_argv(spec: EvalSpec, node: str, index: int) -> list[str]:
    """``srun`` for replica ``index``: one task on ``node`` with exactly its own GPUs and a share of the CPUs."""
    cpus = int(os.environ.get("SLURM_CPUS_PER_TASK") or os.environ.get("SLURM_CPUS_ON_NODE") or spec.gpus_per_node)
    share = max(1, cpus * spec.tp // spec.gpus_per_node)
    # --gres (not --gpus-per-task): a step's own GPU count under the job's --gpus-per-node, so steps share a node
    return ["srun", "--exact", "--nodes=1", "--ntasks=1", f"--nodelist={node}", f"--gres=gpu:{spec.tp}",
            f"--cpus-per-task={share}", f"--job-name=rmr1-eval-{index}", "--kill-on-bad-exit=1"]


def replica_command(spec: EvalSpec, spec_path: Path, index: int) -> list[str]:
    node_env = ["bash", str(Path(spec.repo) / "launch" / "node_env.sh")]
    if spec.mode == "validate":
        return [*node_env, spec.python, "-m", "launch.eval_validate", "--spec", str(spec_path), "--replica", str(index)]
    return [*node_env, *spec.replica_argv(index)]


def run_replicas(spec: EvalSpec, spec_path: Path, nodes: Sequence[str]) -> int:
    """Start every replica's step, wait for all; the first failure stops the others. Returns the exit code."""
    env = {**os.environ, **spec.node_env, "PYTHONUNBUFFERED": "1"}
    procs = []
    for index, node in enumerate(placement(spec, nodes)):
        argv = step_argv(spec, node, index) + replica_command(spec, spec_path, index)
        log(f"replica {index}/{spec.replicas} on {node}")
        procs.append(subprocess.Popen(argv, cwd=spec.repo, env=env, start_new_session=True))
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if spec.mode == "validate" and None not in codes:  # every replica reports, passed or not
                return next((c for c in codes if c), 0)
            if failed and spec.mode != "validate":
                log(f"replica {failed[0][0]} exited with code {failed[0][1]}; stopping the others")
                return failed[0][1] or 1
            if all(c == 0 for c in codes):
                return 0
            time.sleep(POLL_S)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # srun forwards it and ends the step
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def validate_report(spec: EvalSpec) -> dict:
    rows = []
    for index in range(spec.replicas):
        path = Path(spec.out) / "launch" / "validate" / f"{spec.run_id}-replica-{index}.json"
        try:
            rows.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            rows.append({"replica": index, "ok": False, "checks": [
                {"name": "answered", "ok": False, "detail": f"no result at {path}"}]})
    return {"schema": "launch-eval-validate-v1", "ok": all(r["ok"] for r in rows), "ckpt": spec.ckpt,
            "benchmarks": spec.benchmarks, "replicas": spec.replicas, "tp": spec.tp, "backend": spec.backend,
            "nodes": sorted({str(r.get("slurm_node")) for r in rows}), "rows": rows}


def finish(spec: EvalSpec) -> int:
    """Merge the shard caches, re-score once unsharded, record the scores in the card."""
    for name, argv in (("merge", spec.merge_argv()), ("report", spec.final_argv()), ("card", spec.card_argv())):
        if argv is None:
            continue
        log(f"{name}: {' '.join(argv)}")
        code = subprocess.run(argv, cwd=spec.repo, env={**os.environ, **spec.node_env}, check=False).returncode
        if code != 0:
            log(f"{name} failed with exit code {code}")
            return code
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m launch.eval_job SPEC.json (written by launch/eval.sh)", file=sys.stderr)
        return 2
    from launch.slurm_args import hostnames

    spec_path = Path(args[0])
    spec = EvalSpec.read(spec_path)
    nodes = hostnames(os.environ.get("SLURM_JOB_NODELIST", ""))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run_replicas' finally stops the steps
    code = run_replicas(spec, spec_path, nodes)
    if spec.mode == "validate":
        report = validate_report(spec)
        write_text_atomic(spec.report_path, json.dumps(report, indent=2) + "\n")
        for row in report["rows"]:
            failed = [f"{c['name']}: {c['detail']}" for c in row["checks"] if not c["ok"]]
            log(f"replica {row.get('replica')} on {row.get('slurm_node')}: {'ok' if row['ok'] else '; '.join(failed)}")
        log(f"validate {'PASSED' if report['ok'] else 'FAILED'}; report {spec.report_path}")
        return 0 if report["ok"] and code == 0 else 1
    if code != 0:
        log("not merging: a replica failed; resubmit the same command to resume from the shard caches")
        return code
    return finish(spec)


if __name__ == "__main__":
    sys.exit(main())
