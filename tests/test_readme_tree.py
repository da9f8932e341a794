"""README "Where things live" names every top-level folder of the checkout, and only folders that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.lint  # a check of the checkout's shape: `make lint`


def _tracked_top_folders(repo_root: Path) -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=repo_root, capture_output=True, text=True, check=True).stdout
    return {line.split("/", 1)[0] for line in files.splitlines() if "/" in line}


def _table_folders(readme: str) -> set[str]:
    section = readme.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`/]+)/` \|", section, flags=re.MULTILINE))


def test_where_things_live_matches_the_tree(repo_root: Path) -> None:
    listed = _table_folders((repo_root / "README.md").read_text(encoding="utf-8"))
    tracked = _tracked_top_folders(repo_root)
    assert tracked - listed == set(), "folders missing from the README table"  # docs/ and .ci/ were
    assert listed - tracked == set(), "the README table names folders the checkout does not have"
