"""The README's offline distillation demo runs as written: complete CoR traces kept, the teacher stopped after.

The block is run by bash in a scratch folder (so ``data/`` is written there, not in the checkout) where
``data_prep`` and ``preflight`` are the checkout's; only the port changes, to one that is free now.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from data_prep.cor_parser import parse_cor
from testkit.signals import default_sigint

README_PORT = "8012"


def demo_block(readme: str) -> str:
    """The code block that starts the scripted CoR teacher."""
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)
    (block,) = [b for b in blocks if "testkit.loopback_judge --policy cor" in b]
    return block


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_readme_distill_demo_keeps_complete_traces_and_stops_its_teacher(repo_root: Path, tmp_path: Path) -> None:
    block = demo_block((repo_root / "README.md").read_text(encoding="utf-8"))
    assert f"--port {README_PORT} &" in block and block.rstrip().splitlines()[-1].startswith("kill $!")
    promised = re.findall(r"^# (pass\d: .*)$", block, re.MULTILINE)
    for folder in ("data_prep", "preflight"):
        (tmp_path / folder).symlink_to(repo_root / folder)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = "set -euo pipefail\n" + block.replace(README_PORT, _free_port())
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          preexec_fn=default_sigint)
    assert done.returncode == 0, done.stderr
    assert len(promised) == 2 and all(line in done.stdout for line in promised), done.stdout
    assert "stopped after" not in done.stderr  # the teacher served for as long as the demo needed it
    sft = tmp_path / "data" / "rm_r1" / "sft-demo"
    rows = [*pq.read_table(sft / "train.parquet").to_pylist(), *pq.read_table(sft / "val.parquet").to_pylist()]
    assert len(rows) == 5  # 4 kept in pass 1 and 1 corrected in pass 2
    for row in rows:
        trace = parse_cor(row["messages"][-1]["content"])
        assert trace.complete, trace.problems  # a complete Chain-of-Rubrics trace


def test_loopback_judge_says_when_its_time_limit_stops_it() -> None:
    done = subprocess.run([sys.executable, "-m", "testkit.loopback_judge", "--port", "0", "--max-seconds", "0.2"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr.strip() == "loopback judge: stopped after --max-seconds 0.2."
