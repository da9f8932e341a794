"""A build commits all variants or none; a killed build is undone and its temporaries removed next time.

Issue 12 items 9 and 10. Every case first builds an "old" tree, then breaks a second build in a
different way and checks that the old tree is byte-identical (hidden entries included) and that no
staging folder survives the next run.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.adapters import InputSpec
from data_prep.build_parquet import SAMPLES
from data_prep.errors import BuildError
from data_prep.pipeline import JOURNAL_KEY, STAGE_PREFIX, BuildOptions, build
from infra.staged_output import recover
from testkit.signals import default_sigint

REPO = Path(__file__).resolve().parents[1]


def _options(out: Path, seed: int = 0) -> BuildOptions:
    return BuildOptions(inputs=(InputSpec(str(SAMPLES)),), out=out, val_size=0.2, seed=seed, progress=False)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root`` (hidden ones too): file bytes, or None for a folder."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, dict[str, bytes | None]]:
    out = tmp_path / "data"
    build(_options(out, seed=1))
    return out, _tree(out)


# A harness that runs the real CLI but sends itself a signal at one point of the second build.
_HARNESS = """
import os, signal, sys
from pathlib import Path
import data_prep.pipeline as pipeline

where, sig = sys.argv[1], getattr(signal, sys.argv[2])
real_write, real_replace = pipeline.write_parquet_rows, os.replace
folder_renames = 0

def write(rows, path, *args, **kwargs):
    def rows_then_die():
        for i, row in enumerate(rows):
            if i == 3 and where in str(path):
                os.kill(os.getpid(), sig)  # mid-write: row groups of this file are already on disk
            yield row
    return real_write(rows_then_die(), path, chunk_rows=2)

def replace(src, dst):
    global folder_renames
    if Path(src).is_dir():
        folder_renames += 1
        if where == f"rename{folder_renames}":
            os.kill(os.getpid(), sig)
    return real_replace(src, dst)

pipeline.write_parquet_rows = write
os.replace = replace
from data_prep.build_parquet import cli
sys.exit(cli(sys.argv[3:]))
"""


def _run_broken(out: Path, where: str, sig: str) -> subprocess.CompletedProcess:
    args = ["--inputs", str(SAMPLES), "--val-size", "0.2", "--seed", "2", "--out", str(out), "--no-progress"]
    return subprocess.run([sys.executable, "-c", _HARNESS, where, sig, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, preexec_fn=default_sigint)


def test_a_failure_in_the_second_variant_leaves_the_old_tree(old, monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = old
    import data_prep.pipeline as pipeline

    real = pipeline.write_parquet_rows

    def fail_in_reasoning(rows, path, *args, **kwargs):
        if "reasoning" in str(path):
            raise OSError(28, "No space left on device", str(path))  # what a full disk raises
        return real(rows, path, *args, **kwargs)

    monkeypatch.setattr(pipeline, "write_parquet_rows", fail_in_reasoning)
    with pytest.raises(Exception, match="its old contents are unchanged"):
        build(_options(out, seed=2))
    assert _tree(out) == before  # instruct was written (staged) first, but nothing of it landed


@pytest.mark.parametrize(
    ("where", "sig", "code"),
    [
        ("reasoning", "SIGINT", 130),  # Ctrl-C while the second variant's parquet is half written
        ("instruct", "SIGINT", 130),  # Ctrl-C in the first variant
        ("rename2", "SIGINT", 130),  # Ctrl-C between two renames of the swap: rolled back at once
        ("reasoning", "SIGKILL", -9),  # killed mid-write: staging left behind, the tree untouched
    ],
)
def test_an_interrupted_build_leaves_the_old_tree(old, where: str, sig: str, code: int) -> None:
    out, before = old
    done = _run_broken(out, where, sig)
    assert done.returncode == code, done.stderr
    if sig == "SIGINT":
        assert done.stderr.strip().count("\n") == 0 and "interrupted" in done.stderr, done.stderr  # one line
        assert _tree(out) == before
    else:
        assert {p for p in _tree(out) if not p.startswith(".build-")} == set(before)
        recover(out, STAGE_PREFIX, JOURNAL_KEY)
        assert _tree(out) == before


@pytest.mark.parametrize("rename", ["rename1", "rename2", "rename3", "rename4"])
def test_a_kill_between_two_renames_is_rolled_back_by_the_next_run(old, rename: str) -> None:
    out, before = old
    done = _run_broken(out, rename, "SIGKILL")
    assert done.returncode == -9, done.stderr
    if rename == "rename2":
        assert not (out / "instruct").exists()  # the state the old one-folder swap could leave for good
    assert recover(out, STAGE_PREFIX, JOURNAL_KEY)  # it found the staging folder and rolled the swap back
    assert _tree(out) == before
    # and a real next run after another such kill recovers by itself, then builds, leaving nothing hidden
    assert _run_broken(out, rename, "SIGKILL").returncode == -9
    build(_options(out, seed=2))
    assert sorted(p.name for p in out.iterdir()) == ["instruct", "reasoning"]


def test_two_builds_into_one_out_do_not_mix(old) -> None:
    out, before = old
    holder = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another build holds the folder
        with pytest.raises(BuildError, match="another build is writing to --out"):
            build(_options(out, seed=2))
    finally:
        os.close(holder)
    assert _tree(out) == before


def _mount_ns_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(not _mount_ns_works(), reason="needs root and mount namespaces (unshare -m)")


def _in_small_fs(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) in a private mount namespace with a 2 MiB tmpfs at $FS."""
    fs = tmp_path / "fs"
    fs.mkdir()
    return subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=2m none {fs} && {script}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=os.environ | {"FS": str(fs)})


@needs_mounts
def test_a_full_disk_leaves_the_old_tree_and_says_so(tmp_path: Path) -> None:
    cli = f"{sys.executable} -m data_prep.build_parquet --inputs {SAMPLES} --val-size 0.2 --no-progress --out $FS/d"
    script = (f"{cli} --seed 1 >/dev/null && find $FS/d -type f | sort | xargs sha256sum > $FS/../before && "
              "dd if=/dev/zero of=$FS/fill bs=4k 2>/dev/null; "
              f"{cli} --seed 2; echo rc=$?; rm $FS/fill; find $FS/d -type f | sort | xargs sha256sum > $FS/../after; "
              "ls -A $FS/d")
    done = _in_small_fs(tmp_path, script)
    assert "rc=1" in done.stdout, done.stdout + done.stderr  # the run failed (not bad input)
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "the disk is full" in errors[0] and "unchanged" in errors[0], done.stderr
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()
    assert done.stdout.split("rc=1")[1].split() == ["instruct", "reasoning"]  # no staging folder left


@needs_mounts
def test_a_read_only_out_is_refused_before_reading(tmp_path: Path) -> None:
    cli = f"{sys.executable} -m data_prep.build_parquet --inputs {SAMPLES} --val-size 0.2 --no-progress"
    done = _in_small_fs(tmp_path, f"mount -o remount,ro $FS && {cli} --out $FS/d; echo rc=$?")
    assert "rc=2" in done.stdout, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "is on a read-only file system); choose a writable" in done.stderr

