"""A test on the local-Slurm fixture is in the cluster tier without a marker of its own (tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

NEW_TESTS = '''
import pytest


@pytest.fixture(scope="module")
def slurm(local_slurm_cluster):
    yield from local_slurm_cluster("x-", ("n1",), "")


def test_on_the_cluster(slurm):  # through a module fixture, as the launcher's tests do
    pass


def test_on_the_kit_itself(local_slurm_cluster):
    pass


@pytest.mark.cluster
def test_marked_by_hand():  # a local Ray node or torchrun rendezvous
    pass


def test_needs_nothing():
    pass
'''


def test_cluster_tests_are_marked_without_asking(repo_root: Path, tmp_path: Path) -> None:
    shutil.copy(repo_root / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_new.py").write_text(NEW_TESTS)
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "cluster", "-p", "no:cacheprovider",
            "-p", "no:hydra_pytest"]  # hydra's plugin alone takes seconds to import
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    selected = sorted(line.split("::")[1] for line in done.stdout.splitlines() if "::" in line)
    assert selected == ["test_marked_by_hand", "test_on_the_cluster", "test_on_the_kit_itself"]  # not the 4th
