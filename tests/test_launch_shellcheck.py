"""Every shell script is shellcheck-clean, and the launcher's scripts follow the house shape."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*REPO.glob("launch/*.sh"), *REPO.glob("launch/*.sbatch"), *REPO.glob(".ci/*.sh"), REPO / ".ci/run"])


def _shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is not installed in CI; .ci/system_packages.sh should install it.")
        pytest.skip("shellcheck is not installed: apt-get install -y shellcheck")
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck_clean(script: Path) -> None:
    result = subprocess.run([_shellcheck(), "-x", str(script)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s.parent.name == "launch"], ids=lambda p: p.name)
def test_launch_scripts_have_usage_and_strict_mode(script: Path) -> None:
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert lines[1].startswith("# Usage: ")
    assert "set -euo pipefail" in lines
