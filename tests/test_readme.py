"""The README opens with exactly the two newcomer commands, and .ci/run runs them verbatim."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def _first_block_commands(readme: str) -> list[str]:
    block = re.search(r"```[a-z]*\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no code block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_readme_opens_with_two_make_targets_that_exist(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    assert readme.index("```") < readme.index("\n## "), "the commands must come before any section"
    commands = _first_block_commands(readme)
    assert commands == ["make preflight", "make test"]
    makefile = (repo_root / "Makefile").read_text()
    for target in ("preflight", "test"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile has no `{target}` target"


def test_ci_extracts_the_same_two_commands(repo_root: Path) -> None:
    """Run .ci/run's own extraction line on the README and compare with what a reader sees."""
    script = (repo_root / ".ci" / "run").read_text()
    awk = re.search(r"awk '([^']+)' README\.md", script)
    assert awk, ".ci/run no longer extracts the README commands with awk"
    out = subprocess.run(["awk", awk.group(1), "README.md"], cwd=repo_root, capture_output=True, text=True, check=True)
    extracted = [line.split("#", 1)[0].strip() for line in out.stdout.splitlines()]
    assert extracted == _first_block_commands((repo_root / "README.md").read_text())


def test_readme_names_the_three_user_commands(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    for command in (
        "python data_prep/build_parquet.py",
        "bash launch/rl_qwen7b.sh",
        "python eval/rewardbench.py --ckpt",
    ):
        assert command in readme
