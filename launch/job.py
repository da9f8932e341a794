"""The job orchestrator: Ray across the allocation, then the verl driver (or the validate check) on the head.

    python -m launch.job SPEC.json        (run by launch/job.sbatch on the first node, or directly)

Steps: check that Slurm granted what the recipe declares; start ``launch.ray_node head`` on the first
node and one ``launch.ray_node worker`` per other node (``srun --overlap -w NODE``); wait until the
declared nodes and GPUs registered; run the driver (``python -m verl.trainer.main_ppo --config-path
<repo>/recipes --config-name <recipe> ...`` with ``RAY_ADDRESS`` set) or ``launch.validate`` on the
head; stop every step it started, by pid, on every exit path (normal end, error, SIGTERM from
``scancel``/time limit/requeue). SIGUSR1, which sbatch sends some minutes before the time limit, makes
the job requeue itself (``scontrol requeue``): the next run resumes from the latest checkpoint.
The ``local`` backend does the same on one machine without Slurm (the preflight's validate stage).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from launch.errors import SlurmError
from launch.ray_node import LOOPBACK, LOOPBACK_ENV
from launch.slurm_args import (
    Resources,
    check_granted,
    granted_from_env,
    hostnames,
    signal_step,
    srun_argv,
    step_ids,
)
from launch.spec import JobSpec

STOP_GRACE_S = 50  # Ray drains up to 30 s; Slurm's KillWait (default 30 s) may SIGKILL us first anyway
POLL_S = 0.5


class JobError(RuntimeError):
    """The job cannot continue; the message says why and where to look."""


class Stopped(Exception):  # a signal, not an error: hence no "Error" suffix
    """A signal asked the job to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


@dataclass(frozen=True)
class Child:
    """A process this job started: a Slurm step (via srun) or, for the local backend, a plain process."""

    name: str
    step_name: str
    log: Path | None
    proc: subprocess.Popen[bytes]


@dataclass(frozen=True)
class Placement:
    """Where the job runs: node names (head first), resources per node, job id and restart count."""

    nodes: list[str]
    gpus_per_node: int
    cpus_per_node: int
    job_id: str
    restart: int


def log(message: str) -> None:
    print(f"[launch {time.strftime('%H:%M:%S')}] {message}", flush=True)


def latest_checkpoint(output_dir: str) -> str | None:
    """``global_step_N`` that verl's ``resume_mode=auto`` will load, or None before the first save."""
    marker = Path(output_dir) / "latest_checkpointed_iteration.txt"
    try:
        step = marker.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return f"global_step_{step}" if step.isdigit() else None


class Job:
    """One run of a spec: started processes are tracked so teardown stops exactly those."""

    def __init__(self, spec: JobSpec, spec_path: Path) -> None:
        self.spec, self.spec_path = spec, spec_path
        self.children: list[Child] = []
        self.placement: Placement | None = None

    def run(self) -> int:
        """Bring up Ray, run the main step, tear down; returns the exit code."""
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_requeue_signal)
        try:
            self.placement = self._place()
            address = self._start_ray()
            self._wait_for_cluster(address)
            return self._main_step(address)
        except Stopped as stop:
            log(f"stopping on {stop}")
            return stop.code
        except (JobError, SlurmError) as err:
            log(f"FAILED: {err}")
            return 1
        finally:
            self.teardown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _place(self) -> Placement:
        spec = self.spec
        if spec.backend == "local":
            if spec.nnodes != 1:
                raise JobError(f"{spec.recipe} declares {spec.nnodes} nodes; the local backend runs one.")
            cpus = spec.ray_num_cpus or os.cpu_count() or 1
            placement = Placement([socket.gethostname()], spec.local_gpus or 0, cpus, spec.run_id, 0)
        else:
            granted = granted_from_env(os.environ)
            problems = check_granted(Resources(spec.nnodes, spec.gpus_per_node), granted, spec.recipe)
            if problems:
                raise JobError(" ".join(problems))
            cpus = spec.ray_num_cpus or granted.cpus_per_node or 1
            gpus = granted.gpus_per_node or 0
            placement = Placement(hostnames(granted.nodelist), gpus, cpus, granted.job_id, granted.restart_count)
        log(
            f"{spec.recipe} ({spec.mode}) job {placement.job_id} restart {placement.restart} on "
            f"{len(placement.nodes)} node(s) {','.join(placement.nodes)}: Ray with {placement.gpus_per_node} GPUs, "
            f"{placement.cpus_per_node} CPUs per node; head {placement.nodes[0]}"
        )
        return placement

    def _start_ray(self) -> str:
        spec, place = self.spec, self._placement()
        tag = f"{place.job_id}-{place.restart}"
        address_file = Path(spec.log_dir) / f"ray-head-{tag}.json"
        address_file.unlink(missing_ok=True)
        common = ["--num-gpus", str(place.gpus_per_node), "--num-cpus", str(place.cpus_per_node)]
        if spec.ray_node_ip:  # --local: the one node on loopback, never the host's address
            common += ["--node-ip", spec.ray_node_ip]
        head_args = [*common, "--address-file", str(address_file)]
        if spec.ray_tmpdir:
            head_args += ["--temp-dir", spec.ray_tmpdir]
        head = place.nodes[0]
        self._spawn("ray head", head, spec.node_command("launch.ray_node", "head", *head_args), self._ray_log(head))
        address = self._read_address(address_file)
        log(f"Ray head on {head} at {address}")
        for node in place.nodes[1:]:
            worker = spec.node_command("launch.ray_node", "worker", *common, "--address", address)
            self._spawn(f"ray worker {node}", node, worker, self._ray_log(node))
        return address

    def _wait_for_cluster(self, address: str) -> None:
        spec, place = self.spec, self._placement()
        args = ["wait", "--address", address, "--nodes", str(len(place.nodes))]
        args += ["--gpus", str(len(place.nodes) * place.gpus_per_node), "--timeout", str(spec.ray_timeout)]
        args += ["--log-hint", spec.log_dir]
        code = self._run_step("ray wait", spec.node_command("launch.ray_cluster", *args), address)
        if code != 0:
            raise JobError(f"the Ray cluster did not come up (wait step exit {code}); see the [ray] lines above.")

    def _main_step(self, address: str) -> int:
        spec = self.spec
        if spec.mode == "validate":
            cmd = spec.node_command("launch.validate", "--spec", str(self.spec_path), "--address", address)
            code = self._run_step("validate", cmd, address)
            log(f"validate finished with exit code {code}; report {spec.report}")
            return code
        found = latest_checkpoint(spec.output_dir)
        restart = self._placement().restart
        if found:
            log(f"restart {restart}: trainer.resume_mode=auto resumes from {found} in {spec.output_dir}")
        else:
            log(f"restart {restart}: no checkpoint in {spec.output_dir} yet; training starts at step 0")
        argv = ["bash", str(Path(spec.repo) / "launch" / "node_env.sh"), *spec.driver_argv()]
        log("driver: " + " ".join(argv[2:]))
        code = self._run_step("driver", argv, address)
        log(f"driver finished with exit code {code}")
        return code

    def _run_step(self, name: str, argv: list[str], address: str) -> int:
        """Run ``argv`` on the head node with RAY_ADDRESS set; fail fast if a Ray node dies meanwhile."""
        proc = self._spawn(name, self._placement().nodes[0], argv, None, {"RAY_ADDRESS": address})
        while proc.poll() is None:
            self._check_ray_alive()
            time.sleep(POLL_S)
        self.children = [c for c in self.children if c.proc is not proc]
        return proc.returncode

    def _check_ray_alive(self) -> None:
        for child in self.children:
            if child.name.startswith("ray ") and child.proc.poll() is not None:
                raise JobError(f"{child.name} exited with code {child.proc.returncode}; see {child.log}.")

    def _read_address(self, path: Path) -> str:
        import json

        deadline = time.monotonic() + self.spec.ray_timeout
        while not path.is_file():
            self._check_ray_alive()
            if time.monotonic() > deadline:
                raise JobError(f"the Ray head wrote no address to {path} within {self.spec.ray_timeout} s.")
            time.sleep(POLL_S)
        return str(json.loads(path.read_text(encoding="utf-8"))["address"])

    def _spawn(
        self, name: str, node: str, argv: list[str], log_path: Path | None, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        spec, place = self.spec, self._placement()
        env = {**os.environ, **spec.env, **(extra_env or {}), "PYTHONUNBUFFERED": "1"}
        if spec.ray_node_ip == LOOPBACK:  # the driver and checks must find the loopback node too
            env |= LOOPBACK_ENV
        step_name = "rmr1-" + name.replace(" ", "-")
        if spec.backend == "slurm":
            cpus = place.cpus_per_node if name.startswith("ray ") else None
            argv = srun_argv(node, spec, cpus, log_path, step_name) + argv
            out = None
        else:
            out = open(log_path, "ab") if log_path else None  # closed below: the child keeps its own copy
        proc = subprocess.Popen(
            argv, cwd=spec.repo, env=env, stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True
        )
        if out:
            out.close()  # the child holds its own descriptor
        self.children.append(Child(name, step_name, log_path, proc))
        return proc

    def _ray_log(self, node: str) -> Path:
        place = self._placement()
        return Path(self.spec.log_dir) / f"ray-{place.job_id}-{node}.log"

    def _placement(self) -> Placement:
        assert self.placement is not None, "placement is computed first"
        return self.placement

    def _on_stop(self, signum: int, _frame: object) -> None:
        raise Stopped(signum)

    def _on_requeue_signal(self, _signum: int, _frame: object) -> None:
        spec, place = self.spec, self.placement
        if spec.backend != "slurm" or place is None or not spec.requeue:
            log("SIGUSR1 received; requeue is off for this job, so it runs until its time limit")
            return
        if place.restart >= spec.max_requeues:
            log(f"SIGUSR1 received; not requeueing: restart limit {spec.max_requeues} reached (RMR1_MAX_REQUEUES)")
            return
        log(f"time limit near: requeueing job {place.job_id} (restart {place.restart + 1} of at most "
            f"{spec.max_requeues}); the next run resumes from the latest checkpoint")
        out = subprocess.run(["scontrol", "requeue", place.job_id], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            log(f"scontrol requeue failed: {out.stderr.strip()}; the job ends at its time limit")

    def teardown(self) -> None:
        """Stop every started process, newest first: SIGTERM its task, wait, then force and SIGKILL stragglers.

        A Slurm step's task gets SIGTERM through ``scancel --signal=TERM JOB.STEP`` (Ray then drains and
        stops its processes); SIGTERM to ``srun`` itself would make srun SIGKILL the task at once.
        """
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)  # a second scancel must not interrupt the teardown
        running = [c for c in reversed(self.children) if c.proc.poll() is None]
        steps = step_ids(self._placement().job_id) if running and self.spec.backend == "slurm" else {}
        for child in running:
            log(f"stopping {child.name} (pid {child.proc.pid})")
            step = steps.get(child.step_name)
            if step:
                signal_step(step)
            else:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in running:
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{child.name} (pid {child.proc.pid}) still runs after {STOP_GRACE_S} s; killing it")
                child.proc.send_signal(signal.SIGTERM)  # srun: terminate the step now
                try:
                    child.proc.wait(5)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait()
        self.children = []
        if running:
            log("every process this job started is stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m launch.job SPEC.json (written by launch.submit)", file=sys.stderr)
        return 2
    path = Path(args[0])
    spec = JobSpec.read(path)  # a LaunchError: one sentence, exit 2 (run_cli)
    from launch.torchrun_job import job_class  # SFT specs: torchrun per node instead of Ray

    return job_class(spec)(spec, path).run()


if __name__ == "__main__":
    from infra.cli_errors import run_cli

    raise SystemExit(run_cli(main, prog="python -m launch.job"))
