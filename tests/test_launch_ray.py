"""The orchestrator and Ray nodes on this machine (local backend, no Slurm): bring-up, attach, timeout, teardown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch.job import Job
from launch.spec import JobSpec
from launch.submit import write_ray_token
from testkit.local_slurm import processes_mentioning

# Stands in for verl's driver: attaches through RAY_ADDRESS as main_ppo does, records what it saw, exits 3.
FAKE_DRIVER = """\
import json, os, sys
import ray
ray.init(logging_level="ERROR")
alive = [n for n in ray.nodes() if n["Alive"]]
record = {"argv": sys.argv[1:], "nodes": len(alive), "gpus": sum(n["Resources"].get("GPU", 0) for n in alive),
          "node_ips": sorted({n["NodeManagerAddress"] for n in alive}),
          "address": os.environ["RAY_ADDRESS"], "auth": os.environ.get("RAY_AUTH_MODE")}
open(os.environ["FAKE_RECORD"], "w").write(json.dumps(record))
sys.exit(3)
"""


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="rmr1-ray-"))  # short: Ray's socket paths must stay under 107 bytes
    yield path
    leftovers = processes_mentioning(str(path))
    shutil.rmtree(path, ignore_errors=True)
    assert not leftovers, f"Ray processes left running: {leftovers}"


@pytest.mark.cluster
def test_local_job_runs_the_driver_on_its_own_ray_and_stops_it(repo_root: Path, tmp_path: Path, ray_tmp) -> None:
    (tmp_path / "fake_main_ppo.py").write_text(FAKE_DRIVER)
    spec = JobSpec(
        run_id="t", recipe="rl_qwen7b", overrides=["trainer.total_epochs=2"], mode="train", backend="local",
        repo=str(repo_root), python=sys.executable, nnodes=1, gpus_per_node=8, log_dir=str(tmp_path / "logs"),
        output_dir=str(tmp_path / "out"), output_root=str(tmp_path), driver_module="fake_main_ppo",
        env={"PYTHONPATH": str(tmp_path), "FAKE_RECORD": str(tmp_path / "record.json")},
        ray_num_cpus=1, ray_tmpdir=str(ray_tmp), ray_timeout=120, local_gpus=8, ray_node_ip="127.0.0.1",
    )
    write_ray_token(spec)
    path = spec.write(tmp_path / "logs" / "t.spec.json")
    assert Job(spec, path).run() == 3  # the driver's exit code is the job's
    record = json.loads((tmp_path / "record.json").read_text())
    assert (record["nodes"], record["gpus"], record["auth"]) == (1, 8, "token")
    assert record["argv"] == ["--config-path", f"{repo_root}/recipes", "--config-name", "rl_qwen7b",
                              "trainer.total_epochs=2", "trainer.resume_mode=auto"]
    head = json.loads((tmp_path / "logs" / "ray-head-t-0.json").read_text())
    assert head["address"] == record["address"]
    # issue 12 item 30: a local Ray node uses loopback, never the host's address
    assert head["address"].startswith("127.0.0.1:") and record["node_ips"] == ["127.0.0.1"]


@pytest.mark.cluster
def test_waiting_for_missing_nodes_times_out_with_a_clear_message(tmp_path: Path, ray_tmp) -> None:
    from launch.ray_node import LOOPBACK_ENV

    env = {**os.environ, "RAY_AUTH_MODE": "disabled", **LOOPBACK_ENV}  # every local Ray process on loopback
    address_file = tmp_path / "head.json"
    head = subprocess.Popen(
        [sys.executable, "-m", "launch.ray_node", "head", "--num-gpus", "8", "--num-cpus", "1",
         "--address-file", str(address_file), "--temp-dir", str(ray_tmp), "--node-ip", "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not address_file.exists() and head.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        address = json.loads(address_file.read_text())["address"]
        wait = subprocess.run(
            [sys.executable, "-m", "launch.ray_cluster", "wait", "--address", address, "--nodes", "2",
             "--gpus", "16", "--timeout", "3", "--log-hint", "LOGS"],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert wait.returncode == 1
        assert (f"the Ray cluster at {address} registered 1 of 2 nodes and 8 of 16 GPUs within 3 s; read the "
                "per-node Ray logs in LOGS") in wait.stderr
    finally:
        head.send_signal(signal.SIGTERM)  # by pid: ray_node stops its own `ray start --block` and nothing else
        assert head.wait(60) == 0


def test_ray_ports_are_distinct_and_free() -> None:
    """Ray's GCS, agent, dashboard and client ports are drawn together, so none can repeat."""
    import re

    from launch.ray_node import free_ports, ray_start_argv

    for _ in range(20):
        assert len(set(free_ports(4))) == 4
    port, *spare = free_ports(4)
    argv = ray_start_argv("head", "127.0.0.1", 8, 1, port, None, None, spare)
    ports = [int(m) for m in re.findall(r"port=(\d+)", " ".join(argv))]
    assert sorted(ports) == sorted([port, *spare])


def test_local_backend_specs_put_ray_on_loopback(tmp_path: Path) -> None:
    """``--local`` (and so the preflight) gives its Ray node 127.0.0.1; Slurm keeps Ray's detection."""
    import argparse

    from launch.settings import resolve_settings
    from launch.submit import LOOPBACK, _make_spec

    for backend, expected in (("local", LOOPBACK), ("sbatch", None)):
        args = argparse.Namespace(recipe="rl_qwen7b", overrides=[], report=None, local_gpus=8)
        composed = type("C", (), {"cfg": _Cfg(), "kind": "rl"})()
        inputs = type("I", (), {"checkpoint_dir": str(tmp_path / "ck"), "output_root": str(tmp_path), "pins": []})()
        spec = _make_spec(args, resolve_settings({}, {}), composed, inputs, False, backend)
        assert spec.ray_node_ip == expected


class _Cfg:
    """The two resource keys _make_spec reads."""

    class trainer:
        nnodes = 1
        n_gpus_per_node = 8

        @classmethod
        def get(cls, key: str):
            return getattr(cls, key)
