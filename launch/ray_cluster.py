"""Wait until a job's Ray cluster has registered the nodes and GPUs the recipe declares.

    python -m launch.ray_cluster wait --address IP:PORT --nodes 2 --gpus 16 --timeout 300

Run as its own step on the head node (inside the container when there is one), so the orchestrator
never imports Ray. Exit 0 when ready, 1 with one sentence on timeout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClusterState:
    """Alive nodes and their resources as the Ray GCS reports them."""

    nodes: int
    gpus: int
    cpus: int
    hosts: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.nodes} node(s), {self.gpus} GPU(s), {self.cpus} CPU(s) at {', '.join(self.hosts)}"


def state_of(nodes: Sequence[dict[str, Any]]) -> ClusterState:
    """Summarise ``ray.nodes()`` output (dead nodes left out)."""
    alive = [n for n in nodes if n.get("Alive")]
    return ClusterState(
        nodes=len(alive),
        gpus=int(sum(n.get("Resources", {}).get("GPU", 0) for n in alive)),
        cpus=int(sum(n.get("Resources", {}).get("CPU", 0) for n in alive)),
        hosts=tuple(sorted(f"{n.get('NodeManagerHostname')} {n.get('NodeManagerAddress')}" for n in alive)),
    )


def connect(address: str) -> None:
    """Attach this process to the running cluster at ``address`` as a quiet driver."""
    import ray

    ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=False)


def wait_for_cluster(
    address: str, nodes: int, gpus: int, timeout: float, poll: float = 1.0, log_hint: str = "the job's log folder"
) -> ClusterState:
    """Block until ``nodes`` nodes and ``gpus`` GPUs are alive; raise TimeoutError with one sentence otherwise."""
    import ray

    connect(address)
    deadline, last = time.monotonic() + timeout, None
    try:
        while True:
            state = state_of(ray.nodes())
            if state != last:
                print(f"[ray] {state.nodes}/{nodes} nodes, {state.gpus}/{gpus} GPUs registered", flush=True)
                last = state
            if state.nodes >= nodes and state.gpus >= gpus:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the Ray cluster at {address} registered {state.nodes} of {nodes} nodes and {state.gpus} of "
                    f"{gpus} GPUs within {timeout:.0f} s; read the per-node Ray logs in {log_hint} (a node that "
                    "cannot reach the head's port is the usual cause) or raise RMR1_RAY_TIMEOUT."
                )
            time.sleep(poll)
    finally:
        ray.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.ray_cluster", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wait = sub.add_parser("wait", help="wait for nodes and GPUs")
    wait.add_argument("--address", required=True)
    wait.add_argument("--nodes", type=int, required=True)
    wait.add_argument("--gpus", type=int, required=True)
    wait.add_argument("--timeout", type=float, default=300.0)
    wait.add_argument("--log-hint", default="the job's log folder")
    args = parser.parse_args(argv)
    try:
        state = wait_for_cluster(args.address, args.nodes, args.gpus, args.timeout, log_hint=args.log_hint)
    except TimeoutError as err:
        print(f"[ray] {err}", file=sys.stderr, flush=True)
        return 1
    print(f"[ray] cluster ready: {state.describe()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
