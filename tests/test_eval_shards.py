"""Data-parallel eval shards: every item in exactly one shard for any shard count; merged caches are the union."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.errors import EvalError
from eval.shards import Shard, main, merge_caches, parse_shard
from infra.cli_errors import UserError


@given(items=st.lists(st.integers(), max_size=200), count=st.integers(min_value=1, max_value=64))
def test_every_item_lands_in_exactly_one_shard(items: list[int], count: int) -> None:
    tagged = list(enumerate(items))  # positions make equal values distinguishable
    shards = [Shard(i, count).take(tagged) for i in range(count)]
    assert sorted(x for shard in shards for x in shard) == tagged  # each item once, none lost or repeated
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1  # balanced replicas
    for shard in shards:
        assert shard == sorted(shard)  # dataset order kept inside a shard


PARSE = [
    ("0/1", Shard(0, 1)),  # a single shard is the whole run
    ("3/4", Shard(3, 4)),  # the last of four
    (" 1 / 2 ", Shard(1, 2)),  # spaces tolerated
]


@pytest.mark.parametrize(("text", "shard"), PARSE)
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard and parse_shard(str(shard)) == shard


@pytest.mark.parametrize("text", [
    "4/4",  # index must be below the count
    "0/0",  # no shards at all
    "-1/2",  # negative index
    "1",  # no count
    "a/b",  # not numbers
])
def test_bad_shard_is_one_sentence(text: str) -> None:
    with pytest.raises(EvalError, match=r"^--shard .* is not I/N"):
        parse_shard(text)


def _cache(path: Path, keys: list[str], extra: str = "") -> Path:
    lines = [json.dumps({"key": k, "text": f"text {k}", "finish_reason": "stop"}) for k in keys]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def test_merge_is_the_union_first_record_wins(tmp_path: Path) -> None:
    a = _cache(tmp_path / "a.jsonl", ["k1", "k2"], extra="not json\n")
    b = _cache(tmp_path / "b.jsonl", ["k3", "k1"])
    out = tmp_path / "merged.jsonl"
    assert merge_caches([a, b], out) == (3, 1)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["key"] for r in records] == ["k1", "k2", "k3"]


def test_merge_cli_refuses_to_overwrite_a_shard_and_a_missing_shard(tmp_path: Path) -> None:
    a = _cache(tmp_path / "a.jsonl", ["k1"])
    with pytest.raises(UserError, match=r"is a shard .*; writing there could destroy that input"):
        main(["merge-caches", "--out", str(a), str(a)])
    with pytest.raises(EvalError, match="did that shard's job finish"):
        main(["merge-caches", "--out", str(tmp_path / "m.jsonl"), str(a), str(tmp_path / "missing.jsonl")])


# End to end: three shards against a scripted judge, merged, equal to one unsharded run (the bundled fixture).
SUMMARY_KEYS = ("benchmark", "score", "scores", "position", "failures")


@pytest.fixture(scope="module")
def marker_judge():
    from testkit.loopback_judge import LoopbackJudge
    from testkit.loopback_policies import marker_policy

    with LoopbackJudge(marker_policy("(checked)", fallback="A")) as judge:
        yield judge


def _rewardbench(judge, repo_root: Path, out: Path, *extra: str) -> dict:
    from eval import rewardbench

    data = repo_root / "preflight" / "samples" / "rewardbench_sample.jsonl"
    argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--data", str(data),
            "--out", str(out), "--no-progress", "--no-plots", *extra]
    assert rewardbench.main(argv) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("count", [1, 3, 30])  # one shard; uneven shards; more shards than items (some empty)
def test_sharded_run_merged_equals_a_single_process_run(marker_judge, repo_root, tmp_path, count) -> None:
    single = _rewardbench(marker_judge, repo_root, tmp_path / "single")
    marker_judge.reset()
    caches = []
    for index in range(count):
        shard_out = tmp_path / f"shard-{index}"
        _rewardbench(marker_judge, repo_root, shard_out, "--shard", f"{index}/{count}")
        caches.append(shard_out / "generations.jsonl")
    generated = marker_judge.call_count
    assert generated == single["metadata"]["counts"]["judgments"]  # each judgment generated once over the shards
    merged = tmp_path / "merged" / "generations.jsonl"
    merged.parent.mkdir()
    assert main(["merge-caches", "--out", str(merged), *map(str, caches)]) == 0
    final = _rewardbench(marker_judge, repo_root, tmp_path / "final", "--cache", str(merged))
    assert marker_judge.call_count == generated  # the merged run only re-scored
    assert {k: final[k] for k in SUMMARY_KEYS} == {k: single[k] for k in SUMMARY_KEYS}
