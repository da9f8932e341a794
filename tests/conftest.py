"""Shared fixtures. No __init__.py in tests/: verl 0.9.1 installs a top-level `tests` package."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from testkit.local_slurm import LocalSlurm

# CI runs hypothesis derandomized so a red build is reproducible; locally it explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the real local Slurm (directly or through a module fixture) is in the cluster tier.

    ``item.fixturenames`` is the closure of the fixtures a test requests, so a new test on a fixture built
    from ``local_slurm_cluster`` cannot forget the marker; tests of a local Ray node or torchrun rendezvous
    carry ``@pytest.mark.cluster`` themselves.
    """
    for item in items:
        if "local_slurm_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen2 model + tokenizer from the test kit, built once per test session."""
    from testkit.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def sample_data(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both variants built from the bundled sample pairs (as the preflight builds them), once per session.

    Tests only read it (a test that changes data builds or copies its own).
    """
    from preflight.data_stage import build_samples

    work = tmp_path_factory.mktemp("sample_data")
    build_samples(work, tiny_model_dir)
    return work / "data"


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def running_local_slurm(prefix: str, nodes: tuple[str, ...], cluster_env: str) -> Iterator[LocalSlurm]:
    """A real local Slurm for one test module (``yield from`` it in a module fixture).

    Skips locally without slurm-wlm/munge or root, fails under CI; after the module, every daemon and
    every process that mentions the cluster's state folder must be gone.
    """
    from testkit.local_slurm import INSTALL_HINT, LocalSlurm, missing_binaries, processes_mentioning

    missing = missing_binaries()
    why = f"{', '.join(missing)} not installed ({INSTALL_HINT})" if missing else None
    if why is None and os.geteuid() != 0:
        why = "the local Slurm cluster needs root (munged runs as the munge user)"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"Slurm tests cannot run in CI: {why}; .ci/system_packages.sh should install them.")
        pytest.skip(f"real-Slurm tests need {why}")
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))  # short: munge and Ray socket paths
    cluster = LocalSlurm(state, nodes=nodes)
    try:
        cluster.start()
        (state / "cluster.env").write_text(cluster_env.format(state=state))
        yield cluster
    finally:
        cluster.stop()
        daemons = [p for p in state.rglob("*.pid") if _pid_alive(p)]
        leftovers = processes_mentioning(str(state))
        shutil.rmtree(state, ignore_errors=True)
    assert not daemons, f"daemons still running after stop: {daemons}"
    assert not leftovers, f"processes of the test cluster still running: {leftovers}"


def _pid_alive(pid_file: Path) -> bool:
    text = pid_file.read_text().strip()
    if not (text.isdigit() and Path(f"/proc/{text}").exists()):
        return False
    try:
        state = Path(f"/proc/{text}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited


@pytest.fixture(scope="session")
def local_slurm_cluster():
    """:func:`running_local_slurm`, for module fixtures: ``yield from local_slurm_cluster(prefix, nodes, env)``."""
    return running_local_slurm
