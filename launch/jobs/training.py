"""The training job's script (RL or SFT, train or validate) on Slurm, or its one-machine ``--local`` variant.

RL runs ``ray symmetric-run`` on every node with the verl driver (or ``launch.validate.rl``) as the command on
the head; SFT runs one torchrun per node (``launch.validate.sft`` under it in validate mode). ``launch.submit``
checks everything first and passes the resolved pieces here (``spec``: its launch.validate.spec.JobSpec, not
imported: the validate room already reads this one).
"""

from __future__ import annotations

from typing import Any

from launch.jobs import render as r
from launch.jobs.request import Request
from launch.settings import Settings, split_words

TORCHRUN_PORT = 29500  # torch's default rendezvous port, on the first node


def render_training(kind: str, backend: str, request: Request, settings: Settings, python: str, env: dict[str, str],
            spec: Any, spec_arg: str, validate: bool, driver: str, driver_args: list[str]) -> str:
    """The job's script: Slurm (ray symmetric-run or torchrun per node) or --local (one process tree here)."""
    setup = r.setup(spec.repo, python, settings.get("RMR1_MODULES"), settings.get("RMR1_SETUP"), env)
    resume = "" if validate else r.resume_line(spec.output_dir)
    if kind == "sft":
        module = ["launch.validate.sft", "--spec", spec_arg] if validate else [driver, *driver_args]
        nproc = 1 if validate else spec.gpus_per_node
    else:
        command = [python, "-m", "launch.validate.rl", "--spec", spec_arg] if validate else [
            python, "-m", driver, *driver_args]
    if backend == "local":
        if kind == "sft":  # one process per GPU this machine declares (--local-gpus)
            nproc = 1 if validate else max(spec.local_gpus or 1, 1)
            command = [python, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc-per-node",
                       str(nproc), "-m", *module]
        return r.render("local", title=f"{spec.recipe} on this machine", setup=setup, resume=resume,
                        command=r.quote(command))
    header = r.header(f"{spec.recipe}: {'validate' if validate else 'train'} on {spec.nnodes} node(s) x "
                      f"{spec.gpus_per_node} GPUs", request, setup)
    if request.requeue_signal:
        header += "\n" + r.requeue_trap(settings.integer("RMR1_MAX_REQUEUES") or 0)
    flags = srun_flags(settings)
    if kind == "sft":
        return r.render("sft", header=header, resume=resume, srun_flags=flags, python=r.quote([python]),
                        nnodes=str(spec.nnodes), nproc=str(nproc), port=str(TORCHRUN_PORT),
                        command=r.quote(module), wait=r.WAIT)
    cpus = settings.get("RMR1_RAY_NUM_CPUS") or '"$SLURM_CPUS_PER_TASK"'
    ray_start = f"--num-cpus {cpus} --num-gpus {spec.gpus_per_node} --disable-usage-stats"
    if spec.ray_tmpdir:
        ray_start += f" --temp-dir {r.quote([spec.ray_tmpdir])}"
    return r.render("rl", header=header, resume=resume, srun_flags=flags, nnodes=str(spec.nnodes),
                    ray_port=settings.get("RMR1_RAY_PORT") or "6379", ray_timeout=str(spec.ray_timeout),
                    ray_start=ray_start, command=r.quote(command), wait=r.WAIT,
                    status=r.quote([f"{spec.log_dir}/{spec.run_id}.exit"]))


def srun_flags(settings: Settings) -> str:
    """Container and extra srun flags for every step (each followed by a space; none: nothing)."""
    flags = ["--kill-on-bad-exit=1"]
    if settings.get("RMR1_CONTAINER_IMAGE"):
        flags.append(f"--container-image={settings.get('RMR1_CONTAINER_IMAGE')}")
        if settings.get("RMR1_CONTAINER_MOUNTS"):
            flags.append(f"--container-mounts={settings.get('RMR1_CONTAINER_MOUNTS')}")
    flags += split_words("--srun-args", settings.get("RMR1_SRUN_ARGS"))
    return r.quote(flags) + " "
