"""PreferencePair, the local-file adapter, A/B placement and splits."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.adapters import InputFileError, parse_input_spec, read_local_pairs
from data_prep.pairs import PairError, make_pair, split_shared_prefix
from data_prep.splits import place, split_pairs
from testkit.judge_texts import pair_from_dict, swap

U = {"role": "user", "content": "Hi?"}
A = {"role": "assistant", "content": "Hello!"}


# ---- PreferencePair -------------------------------------------------------------------------------

def test_strings_become_messages_and_ids_are_content_hashes() -> None:
    pair = make_pair("demo", "Q?", "good", "bad")
    assert pair.conversation == ({"role": "user", "content": "Q?"},)
    assert pair.chosen == ({"role": "assistant", "content": "good"},) and not pair.is_multi_turn
    assert pair.id == make_pair("other", "Q?", "good", "bad").id != make_pair("demo", "Q?", "bad", "good").id
    assert pair_from_dict(pair.to_json()) == pair


def test_full_conversation_answers_are_cut_back_to_the_reply() -> None:
    pair = make_pair("demo", [U], [U, {"role": "assistant", "content": "good"}], [U, A])
    assert pair.chosen == ({"role": "assistant", "content": "good"},) and pair.rejected == (A,)


def test_split_shared_prefix_finds_the_context() -> None:
    follow = {"role": "user", "content": "More?"}
    conv, chosen, rejected = split_shared_prefix([U, A, follow, {"role": "assistant", "content": "yes"}],
                                                 [U, A, follow, {"role": "assistant", "content": "no"}])
    assert conv == [U, A, follow] and chosen[0]["content"] == "yes" and rejected[0]["content"] == "no"
    assert make_pair("demo", conv, chosen, rejected).is_multi_turn


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad Source", "q", "a", "b"), "source name"),  # source names become data_source keys
        (("demo", [A], "a", "b"), "must end with the client's"),  # context ending with the assistant
        (("demo", "q", "", "b"), "empty message"),  # an empty reply
        (("demo", "   ", "a", "b"), "empty client message"),  # an empty question
        (("demo", "q", [U], "b"), "must start and end with an assistant"),  # a reply that is a user turn
        (("demo", "q", [{"role": "tool", "content": "x"}], "b"), "role in"),  # unsupported role
        (("demo", "q", 7, "b"), "give a string or a list"),  # not text at all
        (("demo", [U, {"role": "system", "content": "s"}, U], "a", "b"), "system message may only open"),
    ],
)
def test_bad_pairs_are_rejected_with_a_reason(args: tuple, message: str) -> None:
    with pytest.raises(PairError, match=message):
        make_pair(*args)


# ---- local files ----------------------------------------------------------------------------------

ROWS = [
    {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"},
    {"messages": [U, A, {"role": "user", "content": "Bye?"}], "chosen": [{"role": "assistant", "content": "Bye!"}],
     "rejected": "No.", "id": "r2", "source": "multi", "metadata": {"topic": "greeting"}},
]


def _write(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_local_json_files(tmp_path: Path, suffix: str) -> None:
    pairs = list(read_local_pairs(_write(tmp_path / f"My Pairs{suffix}", ROWS)))
    assert [p.source for p in pairs] == ["my_pairs", "multi"]  # file name, then the row's own source
    assert pairs[1].id == "r2" and pairs[1].is_multi_turn and pairs[1].metadata == {"topic": "greeting"}
    assert pairs[0].conversation[0]["content"] == "What is 2+2?"


def test_local_parquet_file(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i}", "chosen": "good", "rejected": "bad", "id": f"x{i}"} for i in range(3)]
    pairs = list(read_local_pairs(_write(tmp_path / "p.parquet", rows), source="named"))
    assert [(p.id, p.source) for p in pairs] == [("x0", "named"), ("x1", "named"), ("x2", "named")]


@pytest.mark.parametrize(
    ("name", "rows", "message"),
    [
        # an extra column must go under metadata
        ("a.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "b", "score": 1}], "unknown columns ['score']"),
        # no rejected column
        ("b.jsonl", [{"prompt": "q", "chosen": "a"}], "no rejected column"),
        # neither prompt nor messages
        ("c.json", [{"question": "q", "chosen": "a", "rejected": "b"}], "unknown columns ['question']"),
        # prompt and messages both given
        ("d.parquet", [{"prompt": "q", "messages": "q", "chosen": "a", "rejected": "b"}], "both 'prompt' and"),
        # a valid header but a bad row
        ("e.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "b"}, {"prompt": "q", "chosen": "", "rejected": "b"}],
         "line 2: chosen has an empty message"),  # a .jsonl place is its line
    ],
)
def test_bad_files_name_the_file_and_the_columns(tmp_path: Path, name: str, rows: list, message: str) -> None:
    path = _write(tmp_path / name, rows)
    with pytest.raises(InputFileError) as err:
        list(read_local_pairs(path))
    assert name in str(err.value) and message in str(err.value)
    if "columns" in message:
        assert "columns found: [" in str(err.value)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("{not json}\n", "x.jsonl", "line 1 is not valid JSON"),  # broken JSON line
        ('{"a": 1}', "x.json", "must be a list of rows"),  # a .json file that is not a list
        ("q,a,b\n", "x.csv", "is not one of"),  # an unsupported format
    ],
)
def test_unreadable_files(tmp_path: Path, content: str, name: str, message: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=message):
        list(read_local_pairs(tmp_path / name))
    with pytest.raises(InputFileError, match="does not exist"):
        list(read_local_pairs(tmp_path / "nope.jsonl"))


def test_input_specs() -> None:
    assert parse_input_spec("sky=data/sky.jsonl").source == "sky"
    assert parse_input_spec("data/x=1.jsonl").source is None  # '=' inside a path is not a source name
    with pytest.raises(InputFileError, match="Sky"):
        parse_input_spec("Sky=x.jsonl")


# ---- placement and splits -------------------------------------------------------------------------

def _pairs(sizes: dict[str, int], shared_prompt_every: int = 0) -> list:
    out = []
    for source, n in sizes.items():
        for i in range(n):
            prompt = f"{source} shared {i // shared_prompt_every}" if shared_prompt_every else f"{source} q{i}"
            out.append(make_pair(source, prompt, f"good {i}", f"bad {i}"))
    return out


sizes = st.dictionaries(st.sampled_from(["s1", "s2", "s3", "s4"]), st.integers(1, 25), min_size=1)


@given(sizes=sizes, seed=st.integers(0, 3))
def test_placement_is_balanced_per_source_and_overall(sizes: dict[str, int], seed: int) -> None:
    pairs = _pairs(sizes)
    placement = place(pairs, split="train", seed=seed)
    for source in sizes:
        counts = Counter(placement[p.id] for p in pairs if p.source == source)
        assert abs(counts["A"] - counts["B"]) <= 1
    total = Counter(placement.values())
    assert abs(total["A"] - total["B"]) <= 1


@given(sizes=sizes, seed=st.integers(0, 3))
def test_placement_ignores_input_order(sizes: dict[str, int], seed: int) -> None:
    pairs = _pairs(sizes)
    shuffled = random.Random(seed).sample(pairs, len(pairs))
    assert place(pairs, "val", seed) == place(shuffled, "val", seed)


def test_placement_depends_on_the_seed_and_swap_flips() -> None:
    pairs = _pairs({"s": 40})
    assert place(pairs, "train", 0) != place(pairs, "train", 1)
    assert swap("A") == "B" and swap("B") == "A"


@given(sizes=sizes, seed=st.integers(0, 5), val=st.sampled_from([0.1, 0.25, 3.0]), distill=st.sampled_from([0, 0.2]))
def test_splits_are_disjoint_complete_and_order_free(sizes: dict[str, int], seed: int, val: float, distill: float):
    pairs = _pairs(sizes, shared_prompt_every=3)
    splits = split_pairs(pairs, val, distill, seed)
    ids = [p.id for rows in splits.values() for p in rows]
    assert sorted(ids) == sorted(p.id for p in pairs) and len(ids) == len(set(ids))
    prompts = [{p.conversation_key for p in rows} for rows in splits.values()]
    assert not (prompts[0] & prompts[1] or prompts[0] & prompts[2] or prompts[1] & prompts[2])
    shuffled = random.Random(seed).sample(pairs, len(pairs))
    assert split_pairs(shuffled, val, distill, seed) == splits


def test_splits_are_stratified_by_source() -> None:
    splits = split_pairs(_pairs({"big": 200, "small": 20}), 0.1, 0.25, seed=0)
    val = Counter(p.source for p in splits["val"])
    distill = Counter(p.source for p in splits["distill"])
    assert val == {"big": 20, "small": 2} and distill == {"big": 45, "small": 4}
    counted = split_pairs(_pairs({"big": 200, "small": 20}), 11, 0, seed=0)
    assert Counter(p.source for p in counted["val"]) == {"big": 10, "small": 1}  # a count is shared out


def test_small_sources_still_reach_val_and_seeds_differ() -> None:
    splits = split_pairs(_pairs({"big": 100, "tiny": 3}), 0.05, 0.1, seed=0)
    assert {p.source for p in splits["val"]} == {"big", "tiny"}
    assert split_pairs(_pairs({"big": 100}), 0.2, 0, 0)["val"] != split_pairs(_pairs({"big": 100}), 0.2, 0, 1)["val"]
