"""--local runs the job script on this machine: the driver starts its own Ray (as verl's main_ppo does without
RAY_ADDRESS), and validate mode checks a one-node Ray it starts on loopback and stops."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.local_slurm import processes_mentioning

pytestmark = pytest.mark.cluster  # a real Ray node

# Stands in for verl's driver: starts Ray as main_ppo does without RAY_ADDRESS, records what it saw, exits 3.
FAKE_DRIVER = """\
import json, os, sys
import ray
ray.init(logging_level="ERROR", num_cpus=1, _temp_dir=os.environ["FAKE_RAY_TMP"])
record = {"argv": sys.argv[1:], "nodes": len([n for n in ray.nodes() if n["Alive"]]),
          "address": os.environ.get("RAY_ADDRESS")}
open(os.environ["FAKE_RECORD"], "w").write(json.dumps(record))
ray.shutdown()
sys.exit(3)
"""


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="rmr1-ray-"))  # short: Ray's socket paths must stay under 107 bytes
    yield path
    leftovers = processes_mentioning(str(path))
    shutil.rmtree(path, ignore_errors=True)
    assert not leftovers, f"Ray processes left running: {leftovers}"


def _env(tiny_model_dir: Path, data: Path, out: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMR1_", "SLURM_", "RAY_"))}
    return {**env, "RMR1_MODEL_PATH": str(tiny_model_dir), "RMR1_DATA_DIR": str(data), "RMR1_OUTPUT_DIR": str(out),
            **extra}


def test_local_train_runs_the_driver_with_the_recipe(repo_root, tiny_model_dir, tmp_path, ray_tmp) -> None:
    from preflight.data_stage import build_samples

    build_samples(tmp_path, tiny_model_dir)
    (tmp_path / "fake_main_ppo.py").write_text(FAKE_DRIVER)
    (tmp_path / "out").mkdir()
    env = _env(tiny_model_dir, tmp_path / "data", tmp_path / "out", PYTHONPATH=str(tmp_path),
               RMR1_DRIVER_MODULE="fake_main_ppo", FAKE_RECORD=str(tmp_path / "record.json"),
               FAKE_RAY_TMP=str(ray_tmp))
    cmd = ["bash", str(repo_root / "launch" / "rl_qwen7b.sh"), "--local", "trainer.total_epochs=2"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr  # the driver's exit code is the job's
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["argv"] == ["--config-path", f"{repo_root}/recipes", "--config-name", "rl_qwen7b",
                              "trainer.total_epochs=2", "trainer.resume_mode=auto"]
    assert (record["nodes"], record["address"]) == (1, None)
    assert "no checkpoint in" in done.stdout  # the resume line
    script = next((tmp_path / "out" / "rm_r1" / "rl_qwen7b" / "launch").glob("*.sbatch")).read_text()
    assert "--local: this machine only" in script and "srun" not in script  # kept beside the logs
