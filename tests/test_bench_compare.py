"""eval/compare.py on the new benchmarks: every section a report shows gets a paired-bootstrap interval."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import compare, run_all
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples"
DATA = {"rmbench": "rmbench_sample.jsonl", "rmb": "rmb_sample", "rewardbench2": "rewardbench2_sample.jsonl",
        "judgebench": "judgebench_sample.jsonl"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    for name, policy, model in (("a", marker_policy("(checked)"), "judge-a"), ("b", "always_a", "judge-b")):
        with LoopbackJudge(policy, model=model) as judge:
            args = ["--base-url", judge.base_url, "--model", model, "--variant", "instruct", "--out", str(root / name),
                    "--no-progress", "--no-plots", "--benchmarks", ",".join(DATA),
                    *[f"--data={k}={SAMPLES / v}" for k, v in DATA.items()]]
            assert run_all.main(args) == 0
    return root


@pytest.mark.parametrize("benchmark, headline", [
    ("rmbench", "| **score (mean of 4 domains)** | 52.08 | 50.00 | -2.08 |"),  # always-A: every cell 0.5
    ("rmb", "| **score (mean of 4 parts)** | 68.75 | 25.00 | -43.75 |"),  # always-A never wins BoN as B
    ("rewardbench2", "| Ties | 50.00 | 0.00 | -50.00 |"),  # the substitute is a section score
    ("judgebench", "| **accuracy (micro, net of both orders)** | 60.00 | 0.00 | -60.00 |"),  # always-A nets 0
])
def test_compare_gives_every_section_an_interval(runs: Path, benchmark: str, headline: str) -> None:
    text = compare.compare(str(runs / "a" / benchmark), str(runs / "b" / benchmark), resamples=200)
    assert headline in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "micro mean" not in line][2:]
    assert table and all("[" in line for line in table)  # no section without its bootstrap interval
