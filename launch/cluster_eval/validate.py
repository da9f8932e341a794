"""Validate mode of the cluster eval, run in each replica's own Slurm step of the eval job script.

    python -m launch.cluster_eval.validate --spec SPEC.json --replica I     (one step per replica)
    python -m launch.cluster_eval.validate --spec SPEC.json --report        (after every step: one report)

Checks what replica I needs before a GPU hour is spent: Slurm gave the step exactly ``--tp`` GPUs, the
backend imports (vLLM on the cluster), the checkpoint is a readable Hugging Face folder whose card
(or ``--variant``) names the judge prompt, the eval CLI parses its flags, and the report folder is
writable. Writes one JSON row to ``<out>/launch/validate/``; exit 0 only when every check passed.
``--report`` gathers the rows (a replica that wrote none failed) into one report and prints the verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import util
from pathlib import Path
from typing import Any

from infra.atomic_files import write_text_atomic
from infra.model_card import read_block
from launch.cluster_eval.cli import EvalSpec

BACKEND_MODULES = {"vllm": "vllm", "hf": "transformers"}


def step_gpus(environ: dict[str, str]) -> int:
    """GPUs Slurm bound to this step: CUDA_VISIBLE_DEVICES or SLURM_STEP_GPUS (device lists), else the count
    SLURM_GPUS_ON_NODE (all a cluster without device files, such as the test kit's, reports)."""
    value = environ.get("CUDA_VISIBLE_DEVICES") or environ.get("SLURM_STEP_GPUS") or ""
    if value.strip():
        return len([v for v in value.split(",") if v.strip()])
    count = environ.get("SLURM_GPUS_ON_NODE", "")
    return int(count) if count.isdigit() else 0


def _gpus(spec: EvalSpec) -> str:
    found = step_gpus(dict(os.environ))
    if found != spec.tp:
        raise ValueError(f"the step sees {found} GPU(s) but --tp is {spec.tp}; check the partition's gres setup")
    shown = os.environ.get("CUDA_VISIBLE_DEVICES") or os.environ.get("SLURM_STEP_GPUS") or "count only"
    return f"{found} GPU(s) bound to the step ({shown})"


def _backend(spec: EvalSpec) -> str:
    module = BACKEND_MODULES[spec.backend]
    if util.find_spec(module) is None:
        raise ModuleNotFoundError(f"{module} is not installed in {sys.executable}; install the GPU stack "
                                  "(make gpu-setup) or pass --backend hf")
    return f"{spec.backend} backend: {module} importable"


def _model(spec: EvalSpec) -> str:
    folder = Path(spec.ckpt)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if not any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        raise FileNotFoundError(f"{folder} has no tokenizer files")
    variant = spec.variant or read_block(folder).get("prompt_variant")
    if not variant:
        raise ValueError(f"{folder}/README.md names no rm_r1.prompt_variant and no --variant was given")
    return f"{folder}: {config.get('model_type')}, prompt variant {variant}"


def _cli(spec: EvalSpec) -> str:
    argv = [spec.python, str(Path(spec.repo) / "eval" / "run_all.py"), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, cwd=spec.repo)
    if done.returncode != 0:
        raise RuntimeError(f"eval/run_all.py --help exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return "eval/run_all.py imports and parses"


def _out(spec: EvalSpec) -> str:
    folder = Path(spec.out)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".eval-validate-"):
        pass
    return f"{folder} writable"


CHECKS: tuple[tuple[str, Callable[[EvalSpec], str]], ...] = (
    ("gpus", _gpus), ("backend", _backend), ("model", _model), ("eval_cli", _cli), ("reports", _out))


def check_replica(spec: EvalSpec, replica: int) -> dict[str, Any]:
    checks = []
    for name, check in CHECKS:
        try:
            checks.append({"name": name, "ok": True, "detail": check(spec)})
        except Exception as err:  # one failure must not hide the others
            checks.append({"name": name, "ok": False, "detail": f"{type(err).__name__}: {err}"})
    return {"replica": replica, "hostname": socket.gethostname(), "slurm_node": os.environ.get("SLURMD_NODENAME"),
            "checks": checks, "ok": all(c["ok"] for c in checks)}


def row_path(spec: EvalSpec, replica: int) -> Path:
    return Path(spec.out) / "launch" / "validate" / f"{spec.run_id}-replica-{replica}.json"


def gather(spec: EvalSpec) -> dict[str, Any]:
    """Every replica's row in one report; a replica that wrote none counts as failed."""
    rows = []
    for index in range(spec.replicas):
        try:
            rows.append(json.loads(row_path(spec, index).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            rows.append({"replica": index, "ok": False, "checks": [
                {"name": "answered", "ok": False, "detail": f"no result at {row_path(spec, index)}"}]})
    return {"schema": "launch-eval-validate-v1", "ok": all(r["ok"] for r in rows), "ckpt": spec.ckpt,
            "benchmarks": spec.benchmarks, "replicas": spec.replicas, "tp": spec.tp, "backend": spec.backend,
            "nodes": sorted({str(r.get("slurm_node")) for r in rows}), "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.cluster_eval.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--replica", type=int, help="check this replica's step")
    what.add_argument("--report", action="store_true", help="gather every replica's row into the report")
    args = parser.parse_args(argv)
    spec = EvalSpec.read(args.spec)
    if args.report:
        report = gather(spec)
        write_text_atomic(spec.report_path, json.dumps(report, indent=2) + "\n")
        for row in report["rows"]:
            failed = [f"{c['name']}: {c['detail']}" for c in row["checks"] if not c["ok"]]
            verdict = "ok" if row["ok"] else "; ".join(failed)
            print(f"replica {row.get('replica')} on {row.get('slurm_node')}: {verdict}")
        print(f"validate {'PASSED' if report['ok'] else 'FAILED'}; report {spec.report_path}", flush=True)
        return 0 if report["ok"] else 1
    row = check_replica(spec, args.replica)
    write_text_atomic(row_path(spec, args.replica), json.dumps(row, indent=2) + "\n")
    return 0 if row["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
