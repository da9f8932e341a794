"""Preflight stage: validate mode for rl_qwen7b on a local Ray node, without Slurm.

It builds the tiny test model and the sample data, then runs the launcher exactly as
``bash launch/rl_qwen7b.sh --validate --local`` would: compose and check inputs, start a Ray head
(8 placeholder GPUs: this machine has none), run the per-node checks through Ray and the recipe
checks, write the JSON report and stop Ray. The report must pass.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from launch.submit import main as submit
from preflight.data_stage import build_samples
from testkit.tiny_model import ensure_tiny_model

RECIPE = "rl_qwen7b"
PLACEHOLDER_GPUS = 8  # what the recipe declares; Ray only counts them, nothing runs on them


def run_stage(work_dir: Path) -> str:
    """Run validate mode locally and return a one-line summary; raise when the report fails."""
    work_dir = Path(work_dir).resolve()
    model = ensure_tiny_model(work_dir / "tiny_model")
    build_samples(work_dir, model)
    (work_dir / "out").mkdir(parents=True, exist_ok=True)
    report = work_dir / "validate-report.json"
    report.unlink(missing_ok=True)
    ray_tmp = tempfile.mkdtemp(prefix="rmr1-ray-")  # Ray's socket paths must stay under 107 bytes
    argv = [
        RECIPE, "--validate", "--local", "--local-gpus", str(PLACEHOLDER_GPUS), "--report", str(report),
        "--model-path", str(model), "--data-dir", str(work_dir / "data"), "--output-dir", str(work_dir / "out"),
        "--ray-num-cpus", "1", "--ray-tmpdir", ray_tmp,
    ]
    saved = dict(os.environ)
    try:
        code = submit(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    if not report.is_file():
        raise RuntimeError(f"validate mode wrote no report (exit code {code}); see the output above.")
    data = json.loads(report.read_text(encoding="utf-8"))
    if code != 0 or not data["ok"]:
        raise RuntimeError(f"validate mode failed (exit code {code}); see {report}.")
    checks = "/".join(c["name"] for c in data["nodes"][0]["checks"])
    problems = data["config"]["recipe_report"]["problems"]
    return (
        f"{RECIPE} validate on local Ray: {data['cluster']['registered_nodes']} node, "
        f"{data['cluster']['registered_gpus']} placeholder GPUs registered; node checks {checks} passed; "
        f"config valid ({len(problems)} warning(s)); report {report}"
    )
