"""Hub adapters on synthetic rows in the real schemas, the seeded sample, local layouts, mixes, hub names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.adapters.hub import ADAPTERS, Sample, resolve_source, row_to_pair, sampled_rows, source_items
from data_prep.cleaning import Dropped
from data_prep.mix import MixError, MixSource, load_mix, parse_mix, with_overrides
from data_prep.source_files import SourceError, data_files, resolve

SCRIPT = Path(__file__).resolve().parents[1] / "data_prep" / "build_parquet.py"


def u(text: str) -> dict:
    return {"role": "user", "content": text}


def a(text: str) -> dict:
    return {"role": "assistant", "content": text}


# ---- rows to pairs --------------------------------------------------------------------------------

SKYWORK_CASES = [
    # single turn: the shared user turn is the conversation
    ({"chosen": [u("Q?"), a("good")], "rejected": [u("Q?"), a("bad")], "source": "helpsteer2"}, "pair", False),
    # multi-turn: the shared exchange stays in the conversation
    ({"chosen": [u("Hi"), a("Hello"), u("Q?"), a("good")], "rejected": [u("Hi"), a("Hello"), u("Q?"), a("bad")],
      "source": "wildguard"}, "pair", True),
    # the two sides do not share the client's turn
    ({"chosen": [u("Q1?"), a("good")], "rejected": [u("Q2?"), a("bad")], "source": "offset_bias"}, "malformed", None),
    # a side that is not a message list
    ({"chosen": "good", "rejected": [u("Q?"), a("bad")], "source": "magpie_pro"}, "malformed", None),
    # a message without string content
    ({"chosen": [u("Q?"), {"role": "assistant", "content": None}], "rejected": [u("Q?"), a("b")], "source": "x"},
     "malformed", None),
    # an unsupported role
    ({"chosen": [u("Q?"), {"role": "tool", "content": "t"}], "rejected": [u("Q?"), a("b")], "source": "x"},
     "malformed", None),
    # an empty reply
    ({"chosen": [u("Q?"), a("   ")], "rejected": [u("Q?"), a("bad")], "source": "helpsteer2"}, "empty", None),
]


@pytest.mark.parametrize(("row", "outcome", "multi"), SKYWORK_CASES)
def test_skywork_rows(row: dict, outcome: str, multi: bool | None) -> None:
    item = row_to_pair(ADAPTERS["skywork"], row, "skywork", 7, row["source"])
    if outcome == "pair":
        assert not isinstance(item, Dropped), item
        assert item.is_multi_turn is multi and item.source == "skywork"
        assert item.chosen == (a("good"),) and item.rejected == (a("bad"),)
        assert item.conversation[-1] == u("Q?") and item.metadata == {"row": 7, "subset": row["source"]}
    else:
        assert isinstance(item, Dropped) and item.reason == outcome


CODE_CASES = [
    ({"input": "Sort a list.", "accepted": "sorted(x)", "rejected": "x.sort"}, "pair"),  # the usual row
    ({"input": "Sort a list.", "accepted": "", "rejected": "x.sort"}, "empty"),  # no preferred answer
    ({"input": None, "accepted": "sorted(x)", "rejected": "x.sort"}, "malformed"),  # no request text
    ({"input": "  ", "accepted": "sorted(x)", "rejected": "x.sort"}, "empty"),  # a blank request
]


@pytest.mark.parametrize(("row", "outcome"), CODE_CASES)
def test_code_preference_rows(row: dict, outcome: str) -> None:
    item = row_to_pair(ADAPTERS["code_preference_pairs"], row, "code", 0)
    if outcome == "pair":
        assert item.conversation == (u("Sort a list."),) and item.chosen == (a("sorted(x)"),)
        assert item.rejected == (a("x.sort"),) and item.metadata == {"row": 0}
    else:
        assert isinstance(item, Dropped) and item.reason == outcome


MATH_ROW = {"dataset": "MATH", "prompt": "2+2?", "initial_reason_steps": "Step 1: add.\n",
            "full_chosen": "Step 2: 4.", "full_rejected": "Step 2: 5.", "chosen": "Step 2: 4.", "rejected": "x",
            "answer": "4"}
MATH_CASES = [
    ({}, ("Step 1: add.\nStep 2: 4.", "Step 1: add.\nStep 2: 5.")),  # prefix + continuation, as upstream
    ({"initial_reason_steps": ""}, ("Step 2: 4.", "Step 2: 5.")),  # no shared steps
    ({"initial_reason_steps": None}, ("Step 2: 4.", "Step 2: 5.")),  # a null prefix reads as none
    ({"full_rejected": ""}, "empty"),  # a missing continuation is empty even with a prefix
    ({"prompt": 3}, "malformed"),  # a problem that is not text
]


@pytest.mark.parametrize(("change", "expected"), MATH_CASES)
def test_math_step_dpo_rows(change: dict, expected) -> None:
    item = row_to_pair(ADAPTERS["math_step_dpo"], MATH_ROW | change, "math", 3, "MATH")
    if isinstance(expected, tuple):
        assert (item.chosen[0]["content"], item.rejected[0]["content"]) == expected
        assert item.metadata == {"row": 3, "subset": "MATH"}
    else:
        assert isinstance(item, Dropped) and item.reason == expected


# ---- files, layouts, sampling ---------------------------------------------------------------------

CODE_ROWS = [{"input": f"Task {i}?", "accepted": f"good {i}", "rejected": f"bad {i}"} for i in range(50)]


def _write(path: Path, rows: list[dict], form: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    form = form or path.suffix
    if form == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif form == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:  # JSON lines, also under a .json name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _code_source(location: Path, **kw) -> MixSource:
    return MixSource(name="code", adapter="code_preference_pairs", hub="Vezora/Code-Preference-Pairs",
                     location=str(location), **kw)


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("code.jsonl", None),  # JSON lines
        ("code.json", None),  # a JSON list
        ("code_lines.json", ".jsonl"),  # JSON lines under a .json name (as some hub repos ship them)
        ("code.parquet", None),  # parquet
        ("snapshot/data/train-00000-of-00001.parquet", None),  # a folder in the hub's layout
    ],
)
def test_every_local_layout_reads_the_same_rows(tmp_path: Path, name: str, form: str | None) -> None:
    path = _write(tmp_path / name, CODE_ROWS, form)
    location = tmp_path / "snapshot" if name.startswith("snapshot") else path
    source = _code_source(location)
    pairs = list(source_items(source, resolve_source(source)))
    assert [p.conversation[0]["content"] for p in pairs] == [r["input"] for r in CODE_ROWS]


def test_a_folder_reads_only_its_split_and_skips_metadata(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "train-00001-of-00002.parquet", CODE_ROWS[25:])
    _write(tmp_path / "data" / "train-00000-of-00002.parquet", CODE_ROWS[:25])
    _write(tmp_path / "data" / "test-00000-of-00001.parquet", CODE_ROWS[:3])
    (tmp_path / "dataset_info.json").write_text("{}", encoding="utf-8")
    (tmp_path / ".cache" / "x.json").parent.mkdir()
    (tmp_path / ".cache" / "x.json").write_text("[]", encoding="utf-8")
    assert [p.name for p in data_files(tmp_path, "train")] == ["train-00000-of-00002.parquet",
                                                               "train-00001-of-00002.parquet"]
    assert len(data_files(tmp_path)) == 3  # no split: every data file (benchmarks read all splits)
    resolved = resolve(str(tmp_path), what="source code", fix="--source code", split="train")
    assert resolved.revision is None and len(resolved.sha256) == 64


def test_the_sample_is_datasets_shuffle_then_select(tmp_path: Path) -> None:
    from datasets import Dataset

    source = _code_source(_write(tmp_path / "code.jsonl", CODE_ROWS), sample=Sample(size=8, seed=42))
    items = list(source_items(source, resolve_source(source)))
    kept = [i.conversation[0]["content"] for i in items if not isinstance(i, Dropped)]
    upstream = Dataset.from_list(CODE_ROWS).shuffle(seed=42).select(range(8))["input"]
    assert sorted(kept) == sorted(upstream)
    assert sum(isinstance(i, Dropped) and i.reason == "not_sampled" for i in items) == 42
    assert sampled_rows(50, Sample(size=80, seed=42)) == set(range(50))  # a sample larger than the data keeps all


def test_missing_columns_name_the_file_and_the_columns(tmp_path: Path) -> None:
    source = _code_source(_write(tmp_path / "c.jsonl", [{"question": "q", "accepted": "a", "rejected": "b"}]))
    with pytest.raises(SourceError, match=r"lacks columns \['input'\] \(columns found: \['accepted', 'question'"):
        resolve_source(source)


CODE_HUB = ("code", "code_preference_pairs", "Vezora/Code-Preference-Pairs")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # a typo'd local path is reported as missing, never looked up on the hub
        (MixSource(*CODE_HUB, location="missing/code.jsonl"), "does not exist; pass an existing file or folder with "
                                                              "--source code=PATH"),
        # a hub name without a pinned revision
        (MixSource(*CODE_HUB), "needs a pinned revision; pass --revision code=COMMIT .* or local files with "
                               "--source code=PATH"),
    ],
)
def test_unusable_locations(source: MixSource, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        resolve_source(source)


# ---- hub names, offline ---------------------------------------------------------------------------

def _cli(args: list[str], cwd: Path, hf_home: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(hf_home)}
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--no-progress"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_offline_hub_name_not_cached_is_one_sentence(tmp_path: Path) -> None:
    done = _cli(["--mix", "rm_r1", "--revision", "skywork=" + "a" * 40], tmp_path, tmp_path / "hf")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "source skywork: hub dataset 'Skywork/Skywork-Reward-Preference-80K-v0.2'" in lines[0]
    assert "HF_HUB_OFFLINE=1" in lines[0] and "pass --source skywork=DIR" in lines[0]


def test_a_cached_hub_snapshot_is_read_offline_and_its_commit_recorded(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "hf" / "hub" / "datasets--Someone--code-pairs" / "snapshots" / commit
    _write(snapshot / "data" / "train-00000-of-00001.parquet", CODE_ROWS)
    mix = tmp_path / "mix.yaml"
    mix.write_text("name: tiny\nsources:\n  - {name: code, adapter: code_preference_pairs, "
                   "hub: Someone/code-pairs, revision: " + commit + "}\n", encoding="utf-8")
    done = _cli(["--mix", str(mix), "--out", "out", "--variant", "reasoning", "--val-size", "0.1"], tmp_path,
                tmp_path / "hf")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "reasoning" / "manifest.json").read_text())
    assert manifest["inputs"][0]["name"] == "Someone/code-pairs" and manifest["inputs"][0]["revision"] == commit
    assert manifest["config"]["sources"][0]["resolved_revision"] == commit
    assert manifest["counts"]["accounting"] == {"code": {"read": 50, "dropped": 0, "kept": 50}}


# ---- mixes ----------------------------------------------------------------------------------------

def test_the_rm_r1_mix_is_the_papers_recipe() -> None:
    mix = load_mix("rm_r1")
    by_name = {s.name: s for s in mix.sources}
    assert list(by_name) == ["skywork", "code", "math"] and mix.origin == "builtin:rm_r1"
    assert by_name["skywork"].hub == "Skywork/Skywork-Reward-Preference-80K-v0.2"
    assert by_name["skywork"].exclude_subsets == ("magpie_ultra",)
    assert by_name["code"].sample == Sample(size=8000, seed=42) and by_name["math"].adapter == "math_step_dpo"
    assert all(s.revision is None for s in mix.sources)  # no unverified hash is pinned: --revision is required
    assert sum(s.paper_pairs for s in mix.sources) == 54_146 + 8_000 + 10_800  # ~73K


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: []", "non-empty 'sources'"),  # nothing to read
        ("sources: [{name: a, adapter: skywork, hub: x/y, subset: 1}]", "unknown keys"),  # a typo'd key
        ("sources: [{name: a, adapter: reddit, hub: x/y}]", "adapter 'reddit'"),  # no such adapter
        ("sources: [{name: a, adapter: skywork}]", "lacks ['hub']"),  # nowhere to read from
        ("sources: [{name: a, adapter: skywork, hub: x/y}, {name: a, adapter: skywork, hub: x/z}]", "twice"),
        ("sources: [{name: a, adapter: skywork, hub: x/y, sample: {size: 8}}]", "{size: N, seed: S}"),  # no seed
        ("sources: [{name: A B, adapter: skywork, hub: x/y}]", "source name"),  # not a data_source name
        ("sources: [unclosed", "not valid yaml"),  # broken yaml
    ],
)
def test_bad_mix_files(text: str, message: str) -> None:
    with pytest.raises(MixError, match=message.replace("[", r"\[").replace("{", r"\{")):
        parse_mix(text, origin="test.yaml")


def test_overrides_must_name_sources_of_the_mix() -> None:
    mix = with_overrides(load_mix("rm_r1"), {"code": "local/code"}, {"math": "b" * 40})
    by_name = {s.name: s for s in mix.sources}
    assert by_name["code"].where == "local/code" and by_name["math"].revision == "b" * 40
    with pytest.raises(MixError, match="--source names \\['reddit'\\]"):
        with_overrides(mix, {"reddit": "x"}, {})
