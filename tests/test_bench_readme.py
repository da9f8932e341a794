"""The README's offline run_all example runs as written and prints the numbers its comments promise."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from eval import run_all
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

README_URL = "http://127.0.0.1:8011/v1"


def demo_block(readme: str) -> str:
    """The code block holding the offline run_all example."""
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)
    (block,) = [b for b in blocks if f"eval/run_all.py --base-url {README_URL}" in b]
    return block


def test_readme_run_all_example_gives_the_documented_scores(repo_root: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    block = demo_block((repo_root / "README.md").read_text())
    assert 'policy marker --marker "(checked)"' in block
    variables = dict(re.findall(r"^(\w+)=(\S+)$", block, re.MULTILINE))
    command = re.search(r"^python eval/run_all\.py .*?(?<!\\)$", block.replace("\\\n", " "), re.MULTILINE).group(0)
    for name, value in variables.items():
        command = command.replace(f"${name}", value)
    argv = shlex.split(command)[2:]
    argv[argv.index("--out") + 1] = str(tmp_path)
    promised: dict[str, float] = {}
    for name, score in re.findall(r"(\w+) (\d+\.\d\d)", block):
        promised.setdefault(name, float(score))  # the first: ours; "upstream's scorer: hard" comes after
    upstream = float(re.search(r"upstream's scorer: hard (\d+\.\d\d)", block).group(1))
    monkeypatch.chdir(repo_root)
    with LoopbackJudge(marker_policy("(checked)")) as judge:
        argv[argv.index("--base-url") + 1] = judge.base_url
        assert run_all.main([*argv, "--no-progress", "--no-plots"]) == 0
    rows = json.loads((tmp_path / "summary.json").read_text())["benchmarks"]
    for name, row in rows.items():
        assert round(100 * row["score"], 2) == promised[name]
    rmbench = json.loads((tmp_path / "rmbench" / "summary.json").read_text())["scores"]["strict"]["mean_of_orders"]
    assert [round(100 * rmbench[p], 2) for p in ("hard", "normal", "easy")] == \
        [promised["hard"], promised["normal"], promised["easy"]]
    assert round(100 * rmbench["upstream_mixup"]["hard"], 2) == upstream
