"""One Ray node of a job: ``python -m launch.ray_node head|worker ...``, run once per node by the job.

It runs ``ray start --block`` as its child and forwards SIGTERM/SIGINT to it, so stopping this
process (by pid, or Slurm ending the step) stops that node's Ray processes and nothing else on the
machine. The head picks free ports on ITS node (only the head can know which are free there), then
writes ``{"address": "ip:port"}`` to ``--address-file`` on the shared filesystem for the workers.
Every port Ray would otherwise take at a fixed default (client server 10001, dashboard 8265, agent
52365) is picked free too, so two jobs (or two "nodes" on one test host) do not collide.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from infra.atomic_files import write_text_atomic

STOP_GRACE_S = 45
# On SIGTERM `ray start --block` first asks the GCS to drain the node (30 s by default). Slurm signals
# every process of a step at once, so the head's GCS is already gone and that request only times out;
# a job's Ray has nothing to migrate anyway. Slurm's KillWait (30 s) would SIGKILL a longer wait.
DRAIN_TIMEOUT_S = "1"
LOOPBACK = "127.0.0.1"
# Ray rewrites --node-ip-address=127.0.0.1 to the host's reachable address and binds every server to all
# interfaces; only its single-node mode (this variable at 0) keeps the node, its servers and drivers on
# loopback. A one-node job (--local, the preflight, tests) needs nothing more; a worker cannot join it.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on this host right now (all held open while picked, so no repeats)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def node_ip() -> str:
    """The IP Ray advertises for this node (its own detection, so the address file and Ray agree)."""
    from ray.util import get_node_ip_address

    return str(get_node_ip_address())


def ray_start_argv(
    role: str,
    ip: str,
    num_gpus: int,
    num_cpus: int,
    port: int | None = None,
    address: str | None = None,
    temp_dir: str | None = None,
    spare_ports: Sequence[int] = (),
) -> list[str]:
    """``ray start --block`` for a head (``port``) or a worker (``address``), every fixed port made free.

    ``spare_ports`` (3, distinct from ``port``) replace Ray's fixed agent, dashboard and client ports;
    picked here when not given."""
    agent, dashboard, client = spare_ports or free_ports(3)
    argv = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", f"--node-ip-address={ip}"]
    argv += [f"--num-gpus={num_gpus}", f"--num-cpus={num_cpus}"]
    argv += ["--disable-usage-stats", f"--dashboard-agent-listen-port={agent}"]
    if role == "head":
        argv += [
            "--head",
            f"--port={port}",
            "--include-dashboard=false",
            f"--dashboard-port={dashboard}",
            f"--ray-client-server-port={client}",
        ]
        if temp_dir:
            argv.append(f"--temp-dir={temp_dir}")
    else:
        argv.append(f"--address={address}")
    return argv


def wait_for_port(ip: str, port: int, child: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once ``ip:port`` accepts connections; raise if ``child`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"ray start exited with code {child.returncode} before the head came up.")
        try:
            with socket.create_connection((ip, port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Ray head did not accept connections on {ip}:{port} within {timeout:.0f} s.")


def stop(child: subprocess.Popen[bytes]) -> int:
    """SIGTERM ``child`` (Ray drains, then stops its processes); SIGKILL after the grace period."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.ray_node", description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["head", "worker"])
    parser.add_argument("--num-gpus", type=int, required=True)
    parser.add_argument("--num-cpus", type=int, required=True)
    parser.add_argument("--address-file", type=Path, help="head: where to write the address")
    parser.add_argument("--address", help="worker: the head's ip:port")
    parser.add_argument("--temp-dir", help="head: Ray's temp dir (workers use the head's)")
    parser.add_argument("--timeout", type=float, default=120.0, help="head: seconds to wait for the GCS port")
    parser.add_argument("--node-ip", help="127.0.0.1: a one-node cluster on loopback only; default: Ray's detection")
    args = parser.parse_args(argv)
    ip, (port, *spare) = args.node_ip or node_ip(), free_ports(4)
    cmd = ray_start_argv(args.role, ip, args.num_gpus, args.num_cpus, port, args.address, args.temp_dir, spare)
    print(f"[ray_node {socket.gethostname()}] {' '.join(cmd)}", flush=True)
    env = {"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": DRAIN_TIMEOUT_S, **os.environ}
    if ip == LOOPBACK:
        env |= LOOPBACK_ENV
    child = subprocess.Popen(cmd, env=env)
    stopping = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        if args.role == "head":
            wait_for_port(ip, port, child, args.timeout)
            info = {"address": f"{ip}:{port}", "host": socket.gethostname(), "pid": os.getpid()}
            write_text_atomic(args.address_file, json.dumps(info) + "\n")
        return child.wait()
    except KeyboardInterrupt:
        return 0 if stopping else 130
    except RuntimeError as err:
        print(f"[ray_node] {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop(child)


if __name__ == "__main__":
    sys.exit(main())
