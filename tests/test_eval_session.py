"""One eval orchestration (issue 19 item 2): every benchmark CLI is run_all with one name, through one session.

Checked through the CLIs against a scripted loopback judge on the bundled fixtures: each item is expanded
once per run (RM-Bench used to be expanded three times), run_all's combined summary carries a single
run's metadata (every input with its rows' hash), and run_all and compare read one benchmark registry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from eval import run_all, session
from eval.benchmark import Comparison, Item
from eval.benchmarks import rmbench
from eval.errors import EvalError
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples"


@pytest.fixture(scope="module")
def judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy("(checked)", fallback="A")) as server:
        yield server


def _flags(judge: LoopbackJudge, out: Path, *extra: str) -> list[str]:
    return ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--no-progress",
            "--no-plots", "--out", str(out), *extra]


def test_each_item_is_expanded_once_per_run(judge: LoopbackJudge, tmp_path: Path) -> None:
    calls: list[str] = []

    def counted(item: Item) -> Sequence[Comparison]:
        calls.append(item.id)
        return rmbench.BENCHMARK.expand(item)

    benchmark = dataclasses.replace(rmbench.BENCHMARK, expand=counted)
    data = str(SAMPLES / "rmbench_sample.jsonl")
    assert session.main(benchmark, "python eval/rmbench.py", None, _flags(judge, tmp_path / "o", "--data", data)) == 0
    rows = len((SAMPLES / "rmbench_sample.jsonl").read_text().splitlines())
    assert len(calls) == rows and len(set(calls)) == rows  # was 3 x rows: load, prompt check, runner


def test_the_combined_summary_carries_a_single_runs_metadata(judge: LoopbackJudge, tmp_path: Path) -> None:
    out = tmp_path / "all"
    data = {"rewardbench": "rewardbench_sample.jsonl", "judgebench": "judgebench_sample.jsonl"}
    flags = [f"--data={name}={SAMPLES / file}" for name, file in data.items()]
    assert run_all.main(_flags(judge, out, "--benchmarks", "rewardbench,judgebench", *flags)) == 0
    combined = json.loads((out / "summary.json").read_text())
    singles = {name: json.loads((out / name / "summary.json").read_text()) for name in data}
    meta = combined["metadata"]
    assert meta["inputs"] == [singles[name]["metadata"]["inputs"][0] for name in data]  # names and rows sha256
    assert all(len(ref["sha256"]) == 64 for ref in meta["inputs"])
    for key in ("model", "prompt_version", "verdict_format_version", "seed", "sampling", "git_commit"):
        assert meta[key] == singles["rewardbench"]["metadata"][key], key
    assert meta["tool"] == "eval.run_all" and meta["config"]["cache"] == "generations.jsonl"
    assert set(meta["counts"]) == set(data)
    assert combined["conventions"]["model"] == meta["model"]  # the shared conventions, as before


def test_one_benchmark_cli_writes_what_run_all_writes_for_it(judge: LoopbackJudge, tmp_path: Path) -> None:
    data = str(SAMPLES / "judgebench_sample.jsonl")
    from eval import judgebench

    assert judgebench.main(_flags(judge, tmp_path / "one", "--data", data)) == 0
    assert run_all.main(_flags(judge, tmp_path / "all", "--benchmarks", "judgebench",
                               f"--data=judgebench={data}")) == 0
    one, inner = (json.loads(p.read_text()) for p in (tmp_path / "one" / "summary.json",
                                                      tmp_path / "all" / "judgebench" / "summary.json"))
    for key in ("benchmark", "score", "complete", "coverage", "scores", "position", "failures"):
        assert one[key] == inner[key], key


def test_run_all_and_compare_read_one_registry() -> None:
    assert run_all.BENCHMARKS is session.NAMES
    assert [session.benchmark_named(name).name for name in session.NAMES] == list(session.NAMES)
    with pytest.raises(EvalError, match="no comparison is defined for benchmark 'robustness'"):
        session.benchmark_named("robustness")  # a derived suite is not a registered benchmark

