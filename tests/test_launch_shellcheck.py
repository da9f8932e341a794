"""The launcher's scripts follow the house shape (shellcheck itself runs in `make lint`)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*REPO.glob("launch/*.sh"), *REPO.glob("launch/*.sbatch")])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_launch_scripts_have_usage_and_strict_mode(script: Path) -> None:
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert lines[1].startswith("# Usage: ")
    assert "set -euo pipefail" in lines


def _rendered() -> dict[str, str]:
    """Every job script kind the launcher renders, from synthetic settings (no recipe, no cluster)."""
    from launch.cluster_eval.cli import EvalSpec, render_script
    from launch.jobs import render as r
    from launch.jobs.request import make_request
    from launch.jobs.training import render_training as _render
    from launch.settings import resolve_settings
    from launch.validate.spec import JobSpec

    settings = resolve_settings({"RMR1_MODULES": "cuda/12.8 nccl", "RMR1_SETUP": "/shared/activate.sh",
                                 "RMR1_CONTAINER_IMAGE": "img.sqsh", "RMR1_SRUN_ARGS": "--mpi=none"}, {})
    spec = JobSpec(run_id="r", recipe="rl_qwen14b", overrides=["trainer.total_epochs=2"], backend="slurm",
                   repo="/repo", nnodes=2, gpus_per_node=8, log_dir="/out/launch", output_dir="/out/rm_r1/x",
                   output_root="/out", report="/out/launch/v.json", ray_tmpdir="/tmp/ray dir")
    request = make_request(settings, "rl_qwen14b", 2, 8, Path("/out/launch"), requeue=True)
    env = {"RMR1_DATA_DIR": "/data with space", "HF_HOME": "/hf"}
    scripts = {}
    for kind in ("rl", "sft"):
        for backend in ("sbatch", "local"):
            for validate in (False, True):
                scripts[f"{kind}-{backend}-{'validate' if validate else 'train'}"] = _render(
                    kind, backend, request, settings, "/venv/bin/python", env, spec, "/out/launch/r.spec.json",
                    validate, "verl.trainer.main_ppo", ["--config-name", "rl_qwen14b", "a=[1,2]"])
    for mode in ("eval", "validate"):
        eval_spec = EvalSpec(run_id="e", ckpt="/m/hf", benchmarks=["rewardbench"], out="/m/hf-eval", python="py",
                             repo="/repo", nodes=2, gpus_per_node=8, tp=4, replicas=4, backend="vllm", mode=mode)
        scripts[f"eval-{mode}"] = render_script(eval_spec, make_request(settings, "eval", 2, 8, Path("/l")), settings,
                                                "/l/e.spec.json")
    cpu = make_request(settings, "rmr1-data", 1, 0, Path("/l"))
    scripts["cpu"] = r.render("cpu", header=r.header("data", cpu, r.setup("/repo", "py", None, None, {})),
                              name="data", command=r.quote(["py", "build.py", "--out", "/d d"]))
    return scripts


@pytest.mark.parametrize(("name", "text"), sorted(_rendered().items()), ids=lambda v: v if len(v) < 40 else "")
def test_rendered_job_scripts_pass_shellcheck(name: str, text: str, tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    script = tmp_path / f"{name}.sbatch"
    script.write_text(text)
    done = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
