"""Every command run with a Python that lacks the project says so in one line, exit 2 (issue 24 item 6).

The commonest newcomer mistake (the system Python) ended in a ModuleNotFoundError traceback. ``-S``
stands in for that Python here: the same interpreter without its site-packages, so neither the
project's install nor its dependencies are there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Every entry point a user runs (the README's commands); launch/*.sh check their Python in project_python.sh.
ENTRY_POINTS = [
    ["data_prep/build_parquet.py"], ["data_prep/distill.py"], ["data_prep/released.py"],
    ["eval/rewardbench.py"], ["eval/rmbench.py"], ["eval/judgebench.py"], ["eval/rmb.py"],
    ["eval/rewardbench2.py"], ["eval/run_all.py"], ["eval/compare.py"], ["eval/released_template.py"],
    ["eval/robustness.py"], ["-m", "eval.shards"], ["eval/leaderboard.py"], ["eval/rank.py"], ["eval/scaling.py"],
    ["eval/pointwise.py"],
    ["-m", "launch.export"], ["-m", "launch.model_card"], ["-m", "recipes.check"], ["-m", "preflight"],
]


@pytest.mark.parametrize("argv", ENTRY_POINTS, ids=lambda argv: argv[-1])
def test_a_python_without_the_project_is_one_line(repo_root: Path, argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-S", *argv, "--help"], cwd=repo_root, capture_output=True, text=True,
                          timeout=60)
    err = done.stderr.strip()
    assert done.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "this Python" in err and "make setup" in err
