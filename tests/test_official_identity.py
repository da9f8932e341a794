"""One benchmark identity table for eval and decontamination, old spellings as aliases, one hub reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.benchmark_prompts import BENCHMARKS, canonical_name, identity, parse_benchmark_spec
from eval.benchmarks import judgebench, rewardbench, rewardbench2, rmb, rmbench
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy
from testkit.official_layouts import MARK

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("module", [rewardbench, rewardbench2, rmbench, rmb, judgebench])
def test_every_eval_benchmark_is_its_row_of_the_one_table(module: object) -> None:
    bench = module.BENCHMARK  # type: ignore[attr-defined]
    row = BENCHMARKS[bench.name]
    assert (bench.split, bench.revision, bench.data_default) == (row.split, row.revision, row.hub)


@pytest.mark.parametrize(("spelling", "name"), [
    ("rm-bench", "rmbench"),  # decontamination's old spelling
    ("rmbench", "rmbench"),  # eval's name, now the one name
    ("RM-Bench", None),  # spellings are exact: no guessing
])
def test_old_spellings_are_aliases(spelling: str, name: str | None) -> None:
    assert canonical_name(spelling) == name


def test_decontamination_takes_the_old_spelling_and_records_the_one_name() -> None:
    spec = parse_benchmark_spec("rm-bench@abc123")
    assert (spec.name, spec.location, spec.revision) == ("rmbench", identity("rmbench").hub, "abc123")


def _cached(hf_home: Path, repo: str, files: dict[str, list[dict]]) -> None:
    """A dataset snapshot as huggingface_hub caches it (read offline, never fetched)."""
    folder = hf_home / "hub" / f"datasets--{repo.replace('/', '--')}" / "snapshots" / COMMIT
    for name, rows in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            pq.write_table(pa.Table.from_pylist(rows), folder / name)
        else:
            (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    refs = folder.parents[1] / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(COMMIT)


def _pair(split: str, n: int) -> dict:
    return {"pair_id": f"{split}{n}", "original_id": "o", "source": "livebench-math", "question": f"Q{n}?",
            "response_model": split, "response_A": f"yes {MARK}", "response_B": "no", "label": "A>B"}


def test_eval_reads_a_cached_hub_dataset_through_the_one_hub_reader_offline(repo_root: Path, tmp_path: Path) -> None:
    claude = [_pair("claude", n) for n in range(2)]
    _cached(tmp_path / "hf", "ScalerLab/JudgeBench", {
        "data/gpt-00000-of-00001.parquet": [_pair("gpt", 1)],
        "data/claude-00000-of-00001.parquet": claude,
        "dataset=judgebench,response_model=claude-3-5-sonnet-20240620.jsonl": claude,  # a second copy: not read
    })
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    with LoopbackJudge(marker_policy(MARK)) as judge:
        done = subprocess.run([sys.executable, "eval/judgebench.py", "--split", "claude", "--variant", "instruct",
                               "--base-url", judge.base_url, "--model", "loopback-judge", "--out",
                               str(tmp_path / "o"), "--no-progress", "--no-plots"],
                              cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["coverage"]["scored"] == 2 and summary["score"] == 1.0  # claude's parquet only: no gpt, no copy
    assert summary["metadata"]["inputs"][0]["revision"] == COMMIT  # the snapshot read, though none was pinned
