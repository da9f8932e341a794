"""A real Slurm cluster of virtual nodes on one machine, for the launcher's tests and for trying it out.

    python -m testkit.local_slurm start --state /tmp/slurm-dev      # prints: export SLURM_CONF=...
    python -m testkit.local_slurm stop --state /tmp/slurm-dev

Debian's ``slurm-wlm`` runs several ``slurmd`` on one host (docs/local_slurm.md). Everything
lives in the state folder: a private ``munged`` (own key and socket, so the machine's munge is left
alone), ``slurm.conf`` + ``gres.conf`` (found through ``SLURM_CONF``, never /etc/slurm), free ports,
placeholder GPU files, logs and pid files. Nodes declare more CPUs than the host has
(``config_overrides``) so real per-GPU CPU requests are accepted. Each ``slurmd`` runs in its own
network and PID namespace with its own address on a bridge the kit creates (``10.A.B.k``; the host is
``.254``), so two "nodes" on one host do not share an address: ``ray symmetric-run`` and torchrun find
their head by address, and ``ray stop`` on one node cannot reach another node's processes. Every
process a job step starts lives in its node's namespace and ends with it. :meth:`LocalSlurm.stop`
cancels the cluster's jobs, stops each daemon by the pid file it wrote (every ``slurmd.*.pid``,
whatever ``--nodes`` says), never by name, and removes the namespaces and the bridge. A second ``start``
on a running cluster does nothing; on a partly
running one it refuses and names ``stop``; a ``start`` that fails stops what it had started. Needs
root (munge runs as the ``munge`` user).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.cli_errors import OneLineParser, RunFailed, run_cli

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "srun", "ip", "nsenter", "unshare")
INSTALL_HINT = "apt-get update && apt-get install -y slurm-wlm munge iproute2"


MUNGED = "munge-run/munged"
# Every node's one interface has this name (inside its own namespace), so a job can name it once for all
# nodes, as clusters do (GLOO_SOCKET_IFNAME=eth0): the shared hostname resolves to the host, not the node.
NODE_IFNAME = "eth0"  # pid file name (munged writes it inside its run folder)


class LocalSlurmError(RunFailed):
    """The local cluster cannot start; the message says what to install or fix."""


def missing_binaries() -> list[str]:
    """Slurm/munge programs not on PATH (or in /usr/sbin)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return [b for b in BINARIES if shutil.which(b, path=path) is None]


@dataclass
class LocalSlurm:
    """Slurm with ``nodes`` virtual nodes of ``cpus`` CPUs and ``gpus`` placeholder GPUs, state under ``state``."""

    state: Path
    nodes: tuple[str, ...] = ("n1", "n2")
    cpus: int = 8
    gpus: int = 8
    cred_expire: int = 5  # also how long a requeued job waits before it may start again (default 120 s)
    started: list[str] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.state / "etc" / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """Variables that point Slurm's commands at this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60.0) -> bool:
        """Start munged, slurmctld and one slurmd per node; return when every node is idle.

        Returns False (and does nothing) if this cluster is already running with the same nodes.
        """
        missing = missing_binaries()
        if missing:
            raise LocalSlurmError(f"{', '.join(missing)} not installed; install with: {INSTALL_HINT}")
        if os.geteuid() != 0:
            raise LocalSlurmError("the local Slurm cluster needs root (munged runs as the munge user); run as root.")
        running = self.running()
        if running and set(running) == self._daemon_names():
            return False
        if running:
            alive = ", ".join(f"{Path(name).name} (pid {pid})" for name, pid in running.items())
            raise LocalSlurmError(f"{alive} from an earlier start are still running in {self.state}; stop them with "
                                  f"`python -m testkit.local_slurm stop --state {self.state}`, then start again.")
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o755)
        try:
            self._start_daemons(timeout)
        except BaseException:  # a half-started cluster would hold its ports and socket: stop what started
            self.stop()
            raise
        return True

    def running(self) -> dict[str, int]:
        """This state folder's daemons that are alive, ``{pid file name: pid}`` (whatever nodes they serve)."""
        found = {}
        for name in [MUNGED, "slurmctld", *sorted(p.name[:-4] for p in self.state.glob("slurmd.*.pid"))]:
            pid = _daemon_pid(self.state / f"{name}.pid")
            if pid is not None:
                found[name] = pid
        return found

    def stop(self) -> None:
        """Cancel this cluster's jobs, then stop every daemon by its pid file (SIGTERM, then SIGKILL)."""
        running = self.running()
        if "slurmctld" in running:
            self._cancel_jobs()
        for name in sorted(running, key=lambda n: (n == MUNGED, n == "slurmctld")):  # slurmd, slurmctld, munged
            _stop_pid_file(self.state / f"{name}.pid")
        self._remove_network()

    @property
    def _tag(self) -> str:
        """Six hex digits from the state folder: names the bridge, the namespaces and the subnet."""
        return f"{zlib.crc32(str(self.state).encode()) & 0xFFFFFF:06x}"

    @property
    def subnet(self) -> str:
        """``10.A.B``: the nodes are ``.1``, ``.2``...; the host's side of the bridge is ``.254``."""
        value = int(self._tag, 16)
        return f"10.{100 + value % 100}.{(value >> 8) % 256}"

    @property
    def host_addr(self) -> str:
        return f"{self.subnet}.254"

    def node_addr(self, node: str) -> str:
        return f"{self.subnet}.{self.nodes.index(node) + 1}"

    def _netns(self, node: str) -> str:
        return f"rmr1-{self._tag}-{node}"

    def _make_network(self) -> None:
        """A bridge at ``.254`` and one network namespace per node, joined to it by a veth pair."""
        self._remove_network()  # leftovers of a killed run with the same state folder
        bridge = f"rb-{self._tag}"
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host_addr}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for index, node in enumerate(self.nodes, 1):
            ns, outer, inner = self._netns(node), f"rh-{self._tag}-{index}", f"rn-{self._tag}-{index}"
            _ip("netns", "add", ns)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", outer, "master", bridge, "up")
            _ip("link", "set", inner, "netns", ns)
            _ip("-n", ns, "link", "set", inner, "name", NODE_IFNAME)
            for args in (("addr", "add", f"{self.node_addr(node)}/24", "dev", NODE_IFNAME),
                         ("link", "set", NODE_IFNAME, "up"),
                         ("link", "set", "lo", "up"), ("route", "add", "default", "via", self.host_addr)):
                _ip("-n", ns, *args)

    def _remove_network(self) -> None:
        """Delete the namespaces (their veth ends and any process left in one go with them), then the bridge."""
        for node in self.nodes:
            ns = self._netns(node)
            if not Path(f"/run/netns/{ns}").exists():
                continue
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", f"rb-{self._tag}"], capture_output=True, check=False)

    def _daemon_names(self) -> set[str]:
        return {MUNGED, "slurmctld", *(f"slurmd.{n}" for n in self.nodes)}

    def _start_daemons(self, timeout: float) -> None:
        self._start_munge()
        self._make_network()
        self._write_config()
        env = {**os.environ, **self.env}
        self._daemon("slurmctld", ["slurmctld", "-c"], env)
        for node in self.nodes:
            self._node_daemon(node, env)
        self._wait_idle(timeout)

    def _node_daemon(self, node: str, env: dict[str, str]) -> None:
        """slurmd in the foreground in a new PID namespace inside the node's network namespace.

        ``unshare --kill-child`` passes on our SIGTERM; when slurmd ends, the kernel ends every process of
        its namespace (job steps, Ray, torchrun). Its pid file holds the host pid of ``unshare``.
        """
        (self.state / "spool" / node).mkdir(parents=True, exist_ok=True)
        # nsenter, not `ip netns exec`: that one remounts /sys, hiding the cgroup mount slurmd needs
        # bash is the namespace's init: it reaps the orphans every daemonised child leaves (Ray's), which
        # slurmd as PID 1 would leave as zombies, and passes SIGTERM on to slurmd
        init = 'trap \'kill -TERM "$s"\' TERM; slurmd -D -N "$0" & s=$!; wait "$s"'
        argv = ["nsenter", f"--net=/run/netns/{self._netns(node)}", "unshare", "--pid", "--fork", "--mount-proc",
                "--kill-child=SIGTERM", "bash", "-c", init, node]
        log = open(self.state / f"slurmd.{node}.out", "ab")  # the daemon keeps its own copy
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        (self.state / f"slurmd.{node}.pid").write_text(f"{proc.pid}\n")
        self.started.append(f"slurmd.{node}")

    def _start_munge(self) -> None:
        munge = pwd.getpwnam("munge")
        key_dir, run_dir = self.state / "munge", self.state / "munge-run"
        for folder, mode in ((key_dir, 0o700), (run_dir, 0o755)):
            folder.mkdir(exist_ok=True)
            os.chown(folder, munge.pw_uid, munge.pw_gid)
            folder.chmod(mode)
        key = key_dir / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
            os.chown(key, munge.pw_uid, munge.pw_gid)
            key.chmod(0o400)
        argv = [
            "runuser", "-u", "munge", "--", "munged", f"--socket={run_dir / 'munge.sock'}", f"--key-file={key}",
            f"--pid-file={run_dir / 'munged.pid'}", f"--log-file={key_dir / 'munged.log'}",
            f"--seed-file={key_dir / 'munged.seed'}",
        ]
        self._daemon(MUNGED, argv, dict(os.environ))

    def _write_config(self) -> None:
        etc = self.state / "etc"
        etc.mkdir(exist_ok=True)
        (self.state / "spool").mkdir(exist_ok=True)
        for i in range(self.gpus):
            (self.state / f"fakegpu{i}").touch()
        ctld_port = _free_port()
        host = socket.gethostname()
        s = self.state
        lines = [
            "ClusterName=local", f"SlurmctldHost={host}({self.host_addr})", f"SlurmctldPort={ctld_port}",
            "SlurmUser=root",
            "AuthType=auth/munge", "CredType=cred/munge",
            f"AuthInfo=socket={s / 'munge-run' / 'munge.sock'},cred_expire={self.cred_expire}",
            f"StateSaveLocation={s / 'ctld-state'}", f"SlurmdSpoolDir={s / 'spool'}/%n",
            f"SlurmctldPidFile={s / 'slurmctld.pid'}", f"SlurmdPidFile={s}/spool/%n/inner-pid",  # the namespace's pid
            f"SlurmctldLogFile={s / 'slurmctld.log'}", f"SlurmdLogFile={s}/slurmd.%n.log",
            # cgroup process tracking, as on real clusters: a job's daemonised children (Ray's) end with the job
            "ProctrackType=proctrack/cgroup", "TaskPlugin=task/none", "MpiDefault=none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core", "SlurmdParameters=config_overrides",
            "ReturnToService=2", "GresTypes=gpu", "JobRequeue=1", "MinJobAge=600",
        ]
        lines += [  # one address per node (its namespace), so every slurmd keeps Slurm's default port
            f"NodeName={node} NodeHostname={host} NodeAddr={self.node_addr(node)} CPUs={self.cpus} "
            f"RealMemory=8000 Gres=gpu:{self.gpus} State=UNKNOWN"
            for node in self.nodes
        ]
        lines.append(f"PartitionName=debug Nodes={','.join(self.nodes)} Default=YES MaxTime=INFINITE State=UP")
        (etc / "slurm.conf").write_text("\n".join(lines) + "\n")
        gres = ["AutoDetect=off", f"NodeName={','.join(self.nodes)} Name=gpu File={s}/fakegpu[0-{self.gpus - 1}]"]
        (etc / "gres.conf").write_text("\n".join(gres) + "\n")
        (etc / "cgroup.conf").write_text("CgroupPlugin=cgroup/v1\nCgroupMountpoint=/sys/fs/cgroup\n")

    def _daemon(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        """Run a self-daemonizing program; it must write ``<state>/<name>.pid``."""
        pid_file = self.state / f"{name}.pid"
        pid_file.unlink(missing_ok=True)  # stale: start() refuses while any daemon of this folder is alive
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=60)
        deadline = time.monotonic() + 20
        while out.returncode == 0 and not _read_pid(pid_file) and time.monotonic() < deadline:
            time.sleep(0.2)
        if out.returncode != 0 or not _read_pid(pid_file):
            program = Path(name).name.split(".")[0]
            why = " ".join((out.stderr.strip() or out.stdout.strip()).split()) or "it wrote no pid file"
            raise LocalSlurmError(f"{program} ({name}) did not start: {why.rstrip('.')}; see the logs in {self.state}.")
        self.started.append(name)

    def _wait_idle(self, timeout: float) -> None:
        env = {**os.environ, **self.env}
        deadline, states = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], env=env, capture_output=True, text=True)
            states = out.stdout.strip()
            lines = states.splitlines()
            if len(lines) == len(self.nodes) and all(line.split()[1] == "idle" for line in lines):
                return
            time.sleep(0.5)
        raise LocalSlurmError(f"nodes not idle after {timeout:.0f} s: {states!r}; see {self.state}/*.log")

    def _cancel_jobs(self, timeout: float = 60) -> None:
        """Cancel every job of this cluster and wait (up to ``timeout`` s) until the queue is empty."""
        env = {**os.environ, **self.env}
        subprocess.run(["scancel", "--full", "--state=PENDING,RUNNING,SUSPENDED"], env=env, check=False,
                       capture_output=True, timeout=30)
        subprocess.run(["scancel", "--full"], env=env, check=False, capture_output=True, timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True)
            if out.returncode != 0 or not out.stdout.strip():
                return
            time.sleep(0.5)


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line contains ``text`` (e.g. a state or Ray temp folder), as "pid: cmd"."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or proc.name == str(os.getpid()):
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmd and state != "Z":
            found.append(f"{proc.name}: {cmd[:120]}")
    return found


def _ip(*args: str) -> None:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if out.returncode != 0:
        raise LocalSlurmError(f"ip {' '.join(args)} failed: {out.stderr.strip()}; the kit needs root and iproute2.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as stopped."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _daemon_pid(path: Path) -> int | None:
    """The pid in ``path`` if it is alive and runs the daemon the file is named after (a reused pid is not)."""
    pid = _read_pid(path)
    if pid is None or not _alive(pid):
        return None
    try:
        program = Path((Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")[0].decode()).name
    except (OSError, UnicodeDecodeError):
        return None
    # a node's slurmd is started through `nsenter ... unshare ... slurmd`: the pid file holds unshare's
    return pid if program in (path.name.split(".")[0], "unshare") else None


def _stop_pid_file(path: Path, grace: float = 5.0) -> None:
    """SIGTERM the daemon whose pid is in ``path``, SIGKILL it after ``grace`` seconds (a test kit: a daemon
    still busy after 5 s has nothing left to save)."""
    pid = _daemon_pid(path)
    if pid is None:
        return
    # unshare ignores SIGTERM while it waits for its child: signal the child (a node's slurmd) instead
    children = Path(f"/proc/{pid}/task/{pid}/children")
    targets = [int(c) for c in children.read_text().split()] if children.exists() else []
    for target in targets or [pid]:
        os.kill(target, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m testkit.local_slurm", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--state", type=Path, required=True, help="state folder (short path, e.g. /tmp/slurm-dev)")
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args(argv)
    cluster = LocalSlurm(args.state.resolve(), nodes=tuple(f"n{i}" for i in range(1, args.nodes + 1)))
    if args.command == "stop":
        cluster.stop()
        return 0
    if not cluster.start():
        print(f"# already running in {cluster.state}", file=sys.stderr)
    print(f"export SLURM_CONF={cluster.conf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog="python -m testkit.local_slurm"))
