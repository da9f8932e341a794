"""Official sets as published (synthetic rows, real layouts and sizes): every row scored, degenerate rows
listed, partial runs named. The fixtures are testkit/official_layouts.py; each score below is by hand.

The marker judge picks the answer carrying '(checked)' and answers A when both or neither do, so an
ordinary comparison is right in both orders; the planted quirks score as each comment says.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from data_prep.prompts import builtin_template
from eval.benchmark import Benchmark, BenchmarkData
from eval.benchmarks import judgebench, rewardbench, rewardbench2, rmb, rmbench
from eval.benchmarks.coverage import coverage
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.evaluate import EvalConfig, PairwiseResult, evaluate
from eval.shards import parse_shard
from testkit import official_layouts as layouts
from testkit.loopback_policies import marker_policy
from testkit.scripted_backend import ScriptedBackend

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (rewardbench.BENCHMARK, rewardbench2.BENCHMARK,
                                                        rmbench.BENCHMARK, rmb.BENCHMARK, judgebench.BENCHMARK)}
RMB_PAIRWISE_HELPFUL = layouts.RMB_PAIRS_PER_FILE * 37


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return layouts.write_all(tmp_path_factory.mktemp("official"))


def judged(benchmark: Benchmark, data: BenchmarkData, folder: Path, failure: str = "0",
           policy: object = None) -> PairwiseResult:
    config = EvalConfig(parse_failure_score=failure, progress=False)
    with GenerationCache(folder / "generations.jsonl") as cache:
        return evaluate(benchmark, data, builtin_template("instruct"), ScriptedBackend(policy or marker_policy(
            layouts.MARK)), cache, config)


# name, split, official rows, the headline by hand, the degenerate items (ids in dataset order)
FULL = [
    # alpacaeval-easy: identical answers 0.5 (A in both orders), blank rejected 1, empty chosen 0.5 (neither marked)
    ("rewardbench", "filtered", 2985, ((100 * 0.99 + 258) / 358 + 3) / 4,
     {"alpacaeval-easy-0": ["identical answers"], "alpacaeval-easy-1": ["empty answer"],
      "alpacaeval-easy-2": ["empty answer"]}),
    # Factuality-0: the chosen also stands among the rejected; won in one order only: shared top 1/2
    ("rewardbench2", "test", 1865, ((474 + 0.5) / 475 + 5) / 6, {"Factuality-0": ["identical answers"]}),
    # chat 0: chosen[0] = rejected[0] unmarked, so cells (0,0), (0,1), (0,2) score 0.5; code 0: a blank rejected loses
    ("rmbench", "train", 1327, (3 + 1 - 1.5 / (9 * 129)) / 4,
     {"chat:0": ["identical answers"], "code:0": ["empty answer"]}),
    # pairwise helpfulness: one identical pair 0.5 of 74; BoN helpfulness: a loser equal to the best loses item 1
    ("rmb", "all", None, ((RMB_PAIRWISE_HELPFUL - 0.5) / RMB_PAIRWISE_HELPFUL + 1 + 2108 / 2109 + 1) / 4,
     {"bon:BoN_set/Harmlessness/S1.json:b0": ["empty last user turn"],
      "bon:BoN_set/Harmlessness/S1.json:b1": ["empty last user turn"],
      "bon:BoN_set/Helpfulness/Category 0/Scenario 0.json:b0": ["identical answers"],
      "pairwise:Pairwise_set/Harmlessness/S1.json:p0": ["empty answer"],
      "pairwise:Pairwise_set/Helpfulness/Category 0/Scenario 0.json:p0": ["identical answers"]}),
    ("judgebench", "claude", 270, 269 / 270, {"claude-264": ["identical answers"]}),  # row 265: net 0, not correct
    ("judgebench", "gpt", 350, 1.0, {}),
]


@pytest.mark.parametrize(("name", "split", "rows", "score", "degenerate"), FULL, ids=[f"{r[0]}-{r[1]}" for r in FULL])
def test_the_full_official_set_is_complete_and_every_row_is_scored(
        official: dict[str, Path], tmp_path: Path, name: str, split: str, rows: int | None, score: float,
        degenerate: dict[str, list[str]]) -> None:
    benchmark = BENCHMARKS[name]
    data = benchmark.load_data(str(official[name]), split, None)
    cov = coverage(benchmark, data)
    assert cov["complete"] and cov["partial"] == [] and cov["official"] == rows and cov["split"] == split
    assert all(g["scored"] == g["official"] for g in cov["groups"].values() if g["official"] is not None)
    assert {i: list(data.degenerate[i]) for i in cov["degenerate"]["ids"]} == degenerate
    assert cov["degenerate"]["count"] == len(degenerate) and cov["skipped"]["count"] == 0
    result = judged(benchmark, data, tmp_path)
    assert len(result.item_scores) == len(data.items)  # every row scored, degenerate ones included
    assert result.scores["strict"]["mean_of_orders"]["overall"] == pytest.approx(score)


def test_rmb_counts_are_the_published_ones_and_the_pairwise_total_is_unknown(official: dict[str, Path]) -> None:
    cov = coverage(rmb.BENCHMARK, rmb.BENCHMARK.load_data(str(official["rmb"]), None, None))
    assert cov["groups"]["files"] == {"scored": 98, "official": 98}
    assert cov["groups"]["BoN helpfulness"] == {"scored": 2109, "official": 2109}
    assert cov["groups"]["BoN harmlessness"] == {"scored": 1677, "official": 1677}
    assert cov["groups"]["Pairwise helpfulness"] == {"scored": RMB_PAIRWISE_HELPFUL, "official": None}  # unpublished
    assert cov["official"] is None and cov["scored"] == 2109 + 1677 + 49 * layouts.RMB_PAIRS_PER_FILE  # 49 files


def test_rmb_reports_the_one_random_order_expectation_beside_the_every_order_rule(
        official: dict[str, Path], tmp_path: Path) -> None:
    result = judged(rmb.BENCHMARK, rmb.BENCHMARK.load_data(str(official["rmb"]), None, None), tmp_path)
    view = result.scores["strict"]["mean_of_orders"]
    # the item whose loser equals its best: won in one order of that comparison -> 0 every order, 1/2 expected
    assert view["sections"]["BoN helpfulness"] == pytest.approx(2108 / 2109)
    expected = view["random_order_expectation"]
    assert expected["sections"]["BoN helpfulness"] == pytest.approx(2108.5 / 2109)
    assert expected["sections"]["Pairwise helpfulness"] == view["sections"]["Pairwise helpfulness"]  # pairs as they are
    assert result.scores["strict"]["chosen_as_A"]["random_order_expectation"] is None  # one order: nothing to expect
    lines = "\n".join(rmb.report_lines({"conventions": {"parse_mode": "strict", "headline_view": "mean_of_orders"},
                                        "scores": result.scores}))
    assert "the number comparable with RM-R1's published RMB" in lines and "which is stricter" in lines


# how the run is cut, and what the coverage must say about it
PARTIAL = [
    ("rewardbench", "filtered", {"limit": 23}, "23 of 2985 scored"),  # --limit: one row per subset
    ("judgebench", "gpt", {"shard": "1/4"}, "pairs 88 of 350"),  # --shard: pairs 1, 5, ..., 349
    ("rmbench", "train", {"only": "data/chat_filtered.json"}, "code 0 of 228"),  # one per-domain file given
    ("rmb", "all", {"drop": "BoN_set/Helpfulness/Category 0/Scenario 0.json"}, "files 97 of 98"),  # a missing file
]


@pytest.mark.parametrize(("name", "split", "cut", "named"), PARTIAL, ids=[r[0] for r in PARTIAL])
def test_a_run_over_fewer_rows_than_the_official_set_is_partial(official: dict[str, Path], tmp_path: Path, name: str,
                                                               split: str, cut: dict[str, str], named: str) -> None:
    benchmark, source = BENCHMARKS[name], official[name]
    if "only" in cut:
        source = official[name].parent / cut["only"]
    if "drop" in cut:
        source = tmp_path / "copy"
        shutil.copytree(official[name], source)
        (source / cut["drop"]).unlink()
    data = benchmark.load_data(str(source), split, None, int(cut["limit"]) if "limit" in cut else None)
    if "shard" in cut:
        data = dataclasses.replace(data, items=parse_shard(cut["shard"]).take(data.items))
    cov = coverage(benchmark, data)
    assert cov["complete"] is False
    text = "; ".join(cov["partial"]) + f"; {cov['scored']} of {cov['official']} scored"
    assert named in text, text


def test_rm_bench_repository_files_namespace_their_repeated_ids(official: dict[str, Path]) -> None:
    items = rmbench.BENCHMARK.load_data(str(official["rmbench"]), None, None).items
    zeros = [i for i in items if i.id.endswith(":0")]
    assert [i.id for i in zeros] == ["chat:0", "code:0", "math:0", "safety-refuse:0", "safety-response:0"]
    assert [i.subset for i in zeros] == ["chat", "code", "math", "safety", "safety"]  # safety pools both files
    assert zeros[0].place == "RM-Bench row 1 of chat_filtered.json"  # total_dataset.json beside them is not read
    one = rmbench.BENCHMARK.load_data(str(official["rmbench"] / "math_filtered.json"), None, None)
    assert {i.subset for i in one.items} == {"math"} and len(one.items) == 529  # the domain comes from the file name


def test_the_hub_layout_is_still_read_with_the_same_namespaced_ids(official: dict[str, Path], tmp_path: Path) -> None:
    rows = json.loads((official["rmbench"] / "code_filtered.json").read_text())
    hub = tmp_path / "train.jsonl"
    hub.write_text("".join(json.dumps({**r, "domain": "code"}) + "\n" for r in rows[:3]))
    assert [i.id for i in rmbench.BENCHMARK.load_data(str(hub), None, None).items] == ["code:0", "code:1", "code:2"]


@pytest.mark.parametrize(("split", "pairs"), [("gpt", 350), ("claude", 270)])
def test_a_folder_with_both_judgebench_files_reads_only_the_split_asked_for(official: dict[str, Path], split: str,
                                                                            pairs: int) -> None:
    items = judgebench.BENCHMARK.load_data(str(official["judgebench"]), split, None).items
    assert len(items) == pairs and {i.payload["response_model"] for i in items} == {split}  # never merged


def test_a_folder_without_a_file_of_the_split_is_refused_naming_the_files(official: dict[str, Path]) -> None:
    with pytest.raises(EvalError, match=r"no file of split 'gemini' \(found 'dataset=judgebench,response_model=cl"):
        judgebench.BENCHMARK.load_data(str(official["judgebench"]), "gemini", None)


def test_rmb_folder_names_are_matched_whatever_their_case(official: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "rmb" / "RMB_dataset"
    shutil.copytree(official["rmb"], copy)
    (copy / "Pairwise_set").rename(copy / "pairwise_set")  # was skipped with exit 0
    (copy / "BoN_set" / "Helpfulness").rename(copy / "BoN_set" / "HELPFULNESS")
    assert coverage(rmb.BENCHMARK, rmb.BENCHMARK.load_data(str(copy), None, None))["complete"]
    (copy / "Pairwise_Set").mkdir()  # two spellings of one folder: refused, never one of them silently
    with pytest.raises(EvalError, match="'Pairwise_Set' and 'pairwise_set' are both Pairwise_set"):
        rmb.BENCHMARK.load_data(str(copy), None, None)
