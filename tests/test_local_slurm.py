"""The local Slurm kit's lifecycle: a second start, a partial cluster, and stop by pid file (issue 12 item 29).

Stand-in daemons are ``sleep`` processes renamed with ``exec -a`` (their argv[0] is ``munged``,
``slurmctld`` or ``slurmd``), so the bookkeeping is tested without Slurm; one test runs the real
daemons when slurm-wlm and munge are installed and we are root.
"""

from __future__ import annotations

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

import testkit.local_slurm as local_slurm
from testkit.local_slurm import MUNGED, LocalSlurm, LocalSlurmError, missing_binaries, processes_mentioning

ALL_DAEMONS = (MUNGED, "slurmctld", "slurmd.n1", "slurmd.n2")


@pytest.fixture
def spawn() -> Iterator:
    """Start a ``sleep`` whose argv[0] is ``name``; every one still alive is killed (by pid) afterwards."""
    procs: list[subprocess.Popen] = []

    def start(name: str) -> int:
        procs.append(subprocess.Popen(["bash", "-c", f"exec -a {name} sleep 300"]))
        cmdline = Path(f"/proc/{procs[-1].pid}/cmdline")
        deadline = time.monotonic() + 10
        while not cmdline.read_bytes().startswith(name.encode() + b"\0") and time.monotonic() < deadline:
            time.sleep(0.01)  # until bash has exec'd the renamed sleep
        return procs[-1].pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalSlurm:
    """A two-node cluster object whose binaries and root check pass, so start() reaches its state checks."""
    monkeypatch.setattr(local_slurm, "missing_binaries", lambda: [])
    monkeypatch.setattr(local_slurm.os, "geteuid", lambda: 0)
    (tmp_path / "munge-run").mkdir()
    cluster = LocalSlurm(tmp_path, nodes=("n1", "n2"))
    monkeypatch.setattr(cluster, "_cancel_jobs", lambda: None)  # a stand-in slurmctld has no jobs to cancel
    return cluster


def _fake(cluster: LocalSlurm, spawn, names: tuple[str, ...]) -> dict[str, int]:
    pids = {}
    for name in names:
        pids[name] = spawn(Path(name).name.split(".")[0])
        (cluster.state / f"{name}.pid").write_text(f"{pids[name]}\n")
    return pids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_second_start_of_a_running_cluster_does_nothing(cluster: LocalSlurm, spawn) -> None:
    pids = _fake(cluster, spawn, ALL_DAEMONS)
    assert cluster.start() is False  # already running with these nodes: nothing started, nothing touched
    assert cluster.running() == pids


@pytest.mark.parametrize(
    "alive",
    [
        (MUNGED,),  # an earlier start failed after munged (the orphan of the bug report)
        (MUNGED, "slurmctld", "slurmd.n1"),  # one slurmd died
        (*ALL_DAEMONS, "slurmd.n3"),  # started with --nodes 3, started again with --nodes 2
    ],
)
def test_start_over_a_partial_cluster_is_one_sentence_naming_stop(cluster: LocalSlurm, spawn, alive) -> None:
    pids = _fake(cluster, spawn, alive)
    with pytest.raises(LocalSlurmError) as err:
        cluster.start()
    message = str(err.value)
    assert "\n" not in message and message.count(". ") == 0 and message.endswith("then start again.")
    assert f"munged (pid {pids[MUNGED]})" in message and f"stop --state {cluster.state}`" in message
    assert all(_alive(pid) for pid in pids.values())  # refused before touching anything
    assert all((cluster.state / f"{name}.pid").read_text().strip() == str(pid) for name, pid in pids.items())


def test_stop_stops_every_daemon_it_started_whatever_the_node_list(cluster: LocalSlurm, spawn) -> None:
    pids = _fake(cluster, spawn, (*ALL_DAEMONS, "slurmd.n3"))  # n3 is not in this object's node list
    cluster.stop()
    assert not any(_alive(pid) for pid in pids.values())
    assert cluster.running() == {}


def test_stop_leaves_a_reused_pid_alone(cluster: LocalSlurm, spawn) -> None:
    """A stale pid file whose pid now belongs to another program must not get that program killed."""
    stranger = spawn("sleep")
    (cluster.state / "slurmctld.pid").write_text(f"{stranger}\n")
    assert cluster.running() == {}
    cluster.stop()
    assert _alive(stranger)


def _pid_files(state: Path) -> dict[str, str]:
    return {str(p.relative_to(state)): p.read_text().strip() for p in sorted(state.rglob("*.pid"))}


@pytest.mark.cluster
def test_cli_start_twice_then_stop_leaves_no_daemon() -> None:
    """Real daemons: the second start used to fail with a garbled message and orphan the first munged."""
    if missing_binaries() or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the local Slurm kit cannot run in CI: slurm-wlm/munge missing or not root.")
        pytest.skip("needs slurm-wlm, munge and root")
    state = Path(tempfile.mkdtemp(prefix="rmr1-ls-", dir="/tmp"))  # short: munge's socket path
    cli, args = [sys.executable, "-m", "testkit.local_slurm"], ["--state", str(state), "--nodes", "1"]
    try:
        first = subprocess.run([*cli, "start", *args], capture_output=True, text=True, timeout=120)
        pids = _pid_files(state)
        second = subprocess.run([*cli, "start", *args], capture_output=True, text=True, timeout=120)
        pids_after = _pid_files(state)
    finally:
        subprocess.run([*cli, "stop", *args], capture_output=True, text=True, timeout=120)
        leftovers = processes_mentioning(str(state))
        for line in leftovers:  # this test's own daemons only (their command line names its state folder)
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)
    assert first.returncode == 0, first.stderr
    assert set(pids) == {"munge-run/munged.pid", "slurmctld.pid", "slurmd.n1.pid"}
    assert second.returncode == 0 and second.stdout == first.stdout, second.stderr  # the same export line
    assert "already running" in second.stderr and pids_after == pids  # nothing restarted or forgotten
    assert not leftovers, f"stop left these running: {leftovers}"
    assert not any(_alive(int(pid)) for pid in pids.values())
