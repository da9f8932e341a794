"""SFT jobs: one ``torchrun`` per node for verl's SFT trainer, rendezvous taken from the Slurm allocation.

verl's SFT trainer is SPMD (``torchrun ... -m verl.trainer.sft_trainer``), not a Ray driver, so an SFT
job skips Ray: :class:`TorchrunJob` keeps everything else of :class:`launch.job.Job` (the check that
Slurm granted what the recipe declares, one ``srun --overlap`` step per node, teardown of exactly the
steps it started, self-requeue on SIGUSR1 with ``trainer.resume_mode=auto``) and replaces the Ray
bring-up with a static rendezvous: node ``i`` of the allocation (head first) runs

    torchrun --nnodes N --nproc-per-node G --node-rank i --master-addr HEAD --master-port PORT \\
        -m verl.trainer.sft_trainer --config-path <repo>/recipes --config-name <recipe> [overrides]

Static (not c10d) rendezvous because node ranks are known here and fixed ranks make the head the store's
host on every cluster, including one-host test clusters where every "node" shares an address. Validate
mode runs ``launch.sft_validate`` the same way with one process per node on CPU (gloo).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from launch.job import POLL_S, Job, JobError, log
from launch.spec import JobSpec
from launch.stage_inputs import SFT_DRIVER

VALIDATE_MODULE = "launch.sft_validate"


def is_torchrun_spec(spec: JobSpec) -> bool:
    """True for specs of SFT recipes (their driver is verl's SFT trainer, or a stand-in a test names)."""
    return spec.kind == "sft" or spec.driver_module == SFT_DRIVER


def job_class(spec: JobSpec) -> type[Job]:
    """The orchestrator for a spec: torchrun per node for SFT, Ray plus a driver for RL."""
    return TorchrunJob if is_torchrun_spec(spec) else Job


def torchrun_args(nnodes: int, nproc: int, node_rank: int, master: str) -> list[str]:
    """torchrun's rendezvous flags for node ``node_rank`` of ``nnodes`` (``master`` is ``host:port``)."""
    host, _, port = master.rpartition(":")
    return ["--nnodes", str(nnodes), "--nproc-per-node", str(nproc), "--node-rank", str(node_rank),
            "--master-addr", host, "--master-port", port]


def free_port() -> int:
    """A TCP port free on this host now (the head: the orchestrator runs on the allocation's first node)."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


class TorchrunJob(Job):
    """A Job whose main step is one torchrun per node instead of a Ray cluster and a driver."""

    def _start_ray(self) -> str:  # no Ray: the "address" is the rendezvous endpoint on the head
        endpoint = f"{self._master_host()}:{free_port()}"
        log(f"rendezvous for {len(self._placement().nodes)} node(s) at {endpoint} (torchrun, static ranks)")
        return endpoint

    def _wait_for_cluster(self, address: str) -> None:
        """Nothing to wait for: torchrun's rendezvous itself waits (and times out) for every node."""

    def _master_host(self) -> str:
        """The head's address: this host's name when the orchestrator runs there (it does, under sbatch)."""
        spec, head = self.spec, self._placement().nodes[0]
        here = os.environ.get("SLURMD_NODENAME")
        return socket.gethostname() if spec.backend == "local" or here in (None, head) else head

    def _main_step(self, address: str) -> int:
        spec, place = self.spec, self._placement()
        if spec.mode == "validate":
            nproc, module_args = 1, [VALIDATE_MODULE, "--spec", str(self.spec_path)]
        else:
            nproc, module_args = place.gpus_per_node, [spec.driver_module, *spec.driver_argv()[3:]]
            self._log_resume()
            log("driver on every node: torchrun ... -m " + " ".join(module_args))
        steps = []
        for rank, node in enumerate(place.nodes):
            argv = spec.node_command("torch.distributed.run", *torchrun_args(len(place.nodes), nproc, rank, address),
                                     "-m", *module_args)
            steps.append((node, self._spawn(f"torchrun {node}", node, argv, None)))
        code = self._wait_all(steps)
        what = "validate" if spec.mode == "validate" else "driver"
        log(f"{what} finished with exit code {code}" + (f"; report {spec.report}" if spec.mode == "validate" else ""))
        return code

    def _log_resume(self) -> None:
        from launch.job import latest_checkpoint

        found, restart = latest_checkpoint(self.spec.output_dir), self._placement().restart
        if found:
            log(f"restart {restart}: trainer.resume_mode=auto resumes from {found} in {self.spec.output_dir}")
        else:
            log(f"restart {restart}: no checkpoint in {self.spec.output_dir} yet; training starts at step 0")

    def _wait_all(self, steps: list) -> int:
        """Wait for every node's torchrun; the first failure ends the job (teardown stops the others)."""
        while True:
            codes = [proc.poll() for _, proc in steps]
            failed = [(node, c) for (node, _), c in zip(steps, codes, strict=True) if c not in (None, 0)]
            if failed:
                node, code = failed[0]
                raise JobError(f"torchrun on {node} exited with code {code}; see its lines above "
                               f"(every node's output is in the job log {Path(self.spec.log_dir)}).")
            if all(c == 0 for c in codes):
                self.children = [c for c in self.children if c.proc.poll() is None]
                return 0
            time.sleep(POLL_S)
