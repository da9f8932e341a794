"""The project installs as packages that resolve to this checkout and shadow nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PACKAGES = ["reward_fns", "infra", "data_prep", "eval", "recipes", "launch", "testkit", "preflight"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_inside_repo(name: str, repo_root: Path) -> None:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not importable: run `pip install -e .`"
    assert Path(spec.origin).resolve().is_relative_to(repo_root), f"{name} resolves to {spec.origin}"


def _dependency_names() -> set[str]:
    """Top-level module names of the standard library and of every installed distribution."""
    from importlib.metadata import packages_distributions

    return set(sys.stdlib_module_names) | set(packages_distributions())


def test_every_package_and_sample_file_ships_in_the_wheel(repo_root: Path) -> None:
    """The wheel's include list names every package, and package-data covers every bundled sample file."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = config["packages"]["find"]["include"]
    assert all(f"{name}*" in include for name in PACKAGES), include
    samples = repo_root / "preflight" / "samples"
    patterns = config["package-data"]["preflight"]
    shipped = {path for pattern in patterns for path in (repo_root / "preflight").glob(pattern)}
    missing = [str(p.relative_to(repo_root)) for p in samples.rglob("*") if p.is_file() and p not in shipped]
    assert not missing, f"add these to [tool.setuptools.package-data] preflight: {missing}"


def test_no_project_module_shadows_a_dependency(repo_root: Path) -> None:
    """Scripts run as `python data_prep/x.py` put their folder first on sys.path: a `datasets.py` there
    would replace the real `datasets` for everything that script imports. Only folders holding a script
    (a ``__main__`` block) are put there."""
    taken = _dependency_names()
    clashes = []
    for name in PACKAGES + ["tests", "benchmarks"]:
        for path in (repo_root / name).rglob("*.py"):
            scripts_beside = any("__main__" in p.read_text(encoding="utf-8") for p in path.parent.glob("*.py"))
            if scripts_beside and path.stem in taken and path.stem != "__init__":
                clashes.append(str(path.relative_to(repo_root)))
    assert not clashes, f"rename these modules, they shadow installed modules: {clashes}"


def test_tests_folder_is_not_a_package(repo_root: Path) -> None:
    assert not (repo_root / "tests" / "__init__.py").exists(), "verl installs a top-level `tests` package"

