"""Decontamination: the normaliser, exact and n-gram matches, benchmark prompt fields and specs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.benchmark_prompts import BenchmarkSpec, benchmark_prompts, parse_benchmark_spec, resolve_benchmark
from data_prep.decontamination import BenchmarkIndex, is_contaminated, normalise_words
from data_prep.pairs import make_pair
from data_prep.source_files import SourceError
from testkit.synthetic_text import TextMaker

TEXT = TextMaker(seed=5, lexicon_size=3000, pool_size=300)


def words(n: int, offset: int = 0) -> list[str]:
    """n distinct-looking words (no accidental repeats of long n-grams)."""
    return [f"{TEXT.lexicon[200 + offset + i]}{i}" for i in range(n)]


LONG = " ".join(words(60))  # a 60-word benchmark prompt
MEDIUM = " ".join(words(20, 500))  # 20 words, enough for a turn-level exact match
BENCH = {"rewardbench": [[LONG], ["Continue."]], "rmb": [[MEDIUM]]}


@pytest.fixture(scope="module")
def index() -> BenchmarkIndex:
    built = BenchmarkIndex(n=13, threshold=0.5)
    for name, prompts in BENCH.items():
        built.add(name, prompts)
    return built


def _changed(text: str, position: int) -> str:
    parts = text.split()
    parts[position] = "CHANGED"
    return " ".join(parts)


OVERLAP_CASES = [
    ([LONG], {"rewardbench": "exact"}),  # a verbatim copy
    ([LONG.upper().replace(" ", " ,  ")], {"rewardbench": "exact"}),  # case, punctuation and spacing differ
    (["Hello there, how are you today?", MEDIUM], {"rmb": "exact"}),  # a later turn is a benchmark prompt
    (["Continue."], {"rewardbench": "exact"}),  # a whole short prompt that equals one
    (["Write a poem about the sea.", "Continue."], {}),  # a short common turn alone is no contamination
    ([LONG + " " + " ".join(words(200, 900))], {"rewardbench": "ngram"}),  # contains the whole benchmark prompt
    ([" ".join(LONG.split()[:30])], {"rewardbench": "ngram"}),  # is the first half of one
    ([_changed(LONG, 30)], {"rewardbench": "ngram"}),  # one word changed: 35 of 48 13-grams survive
    ([" ".join(words(13)) + " " + " ".join(words(60, 2000))], {}),  # shares one 13-gram of 48: below 0.5
    ([_changed(MEDIUM, 10)], {}),  # too short for n-grams and not exact: missed by design
    (["Something else entirely, nothing shared with any benchmark at all."], {}),  # clean
]


@pytest.mark.parametrize(("turns", "expected"), OVERLAP_CASES)
def test_overlaps(index: BenchmarkIndex, turns: list[str], expected: dict[str, str]) -> None:
    assert index.matches(turns) == expected


def test_decontaminate_counts_per_benchmark() -> None:
    index = BenchmarkIndex()
    for name, prompts in BENCH.items():
        index.add(name, prompts)
    index.add("rmb", [[MEDIUM]])  # the same prompt twice (RMB repeats prompts across its sets) counts once
    pairs = [make_pair("s", LONG, "a", "b"), make_pair("s", MEDIUM, "a", "b"),
             make_pair("s", _changed(LONG, 30), "a", "b"), make_pair("s", "clean question", "a", "b")]
    assert [is_contaminated(pair, index) for pair in pairs] == [True, True, True, False]
    assert {k: v.as_dict() for k, v in index.stats.items()} == {
        "rewardbench": {"prompts": 2, "pairs_exact": 1, "pairs_ngram": 1, "pairs": 2},
        "rmb": {"prompts": 2, "pairs_exact": 1, "pairs_ngram": 0, "pairs": 1},
    }


@given(st.text(max_size=80))
def test_normalise_words_is_idempotent(text: str) -> None:
    once = normalise_words(text)
    assert normalise_words(" ".join(once)) == once
    assert all(w and not any(c.isspace() for c in w) for w in once)


@given(st.text(alphabet=st.sampled_from(list("abcXYZ 09,.;!?'\"-_()\n\t")), max_size=80))
def test_normalise_words_ignores_case_punctuation_and_spacing(text: str) -> None:
    noisy = text.upper().replace(" ", " ... ").replace("\n", "\n\n")
    assert normalise_words(noisy) == normalise_words(text)


# ---- benchmark files ------------------------------------------------------------------------------

def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _rmb(root: Path) -> Path:
    """RMB's layout: json lists under RMB_dataset/{Pairwise_set,BoN_set}/..."""
    rows = [{"pair_uid": "p1", "conversation_input": [
        {"role": "user", "content": "First question?", "language": "en"},
        {"role": "assistant", "content": "An answer.", "language": "en"},
        {"role": "user", "content": "Follow-up?", "language": "en"}],
        "chosen": {"llm_name": "m", "answer": "x"}, "reject": {"llm_name": "n", "answer": "y"}, "category_path": "c"}]
    bon = [{"bon_uid": "b1", "conversation_input": [{"role": "user", "content": "Best of n?", "language": "en"}],
            "bon_best": {"llm_name": "m", "answer": "x"}, "loser_list": [], "category_path": "c"}]
    for rel, data in (("Pairwise_set/Helpfulness/Chat/Talk.json", rows), ("BoN_set/Harmlessness/S1.json", bon)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(data), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("rewardbench", lambda p: _jsonl(p / "rb.jsonl", [{"id": 1, "prompt": "Q1", "chosen": "a", "rejected": "b",
                                                           "subset": "s"}]), [["Q1"]]),
        ("rm-bench", lambda p: _parquet(p / "rmb.parquet", [{"id": 1, "prompt": "Q2", "chosen": ["a"] * 3,
                                                             "rejected": ["b"] * 3, "domain": "chat"}]), [["Q2"]]),
        ("rmb", lambda p: _rmb(p / "RMB_dataset"), [["Best of n?"], ["First question?", "Follow-up?"]]),
        ("rewardbench2", lambda p: _jsonl(p / "rb2.jsonl", [{"id": "1", "prompt": "Q3", "chosen": ["a"],
                                                             "rejected": ["b", "c", "d"]}]), [["Q3"]]),
        ("judgebench", lambda p: _jsonl(p / "jb.jsonl", [{"pair_id": "1", "question": "Q4", "label": "A>B"}]),
         [["Q4"]]),
    ],
)
def test_each_benchmarks_prompt_field(tmp_path: Path, name: str, make, expected: list[list[str]]) -> None:
    spec = BenchmarkSpec(name=name, location=str(make(tmp_path)))
    assert list(benchmark_prompts(spec, resolve_benchmark(spec))) == expected


def _parquet(path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_a_file_without_the_prompt_field_is_an_error(tmp_path: Path) -> None:
    spec = BenchmarkSpec("judgebench", str(_jsonl(tmp_path / "jb.jsonl", [{"prompt": "x"}])))
    with pytest.raises(SourceError, match=r"has no 'question' field .* --decontaminate judgebench=PATH"):
        list(benchmark_prompts(spec, resolve_benchmark(spec)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rewardbench=data/rb.jsonl", BenchmarkSpec("rewardbench", "data/rb.jsonl")),  # a local file
        ("rm-bench=THU-KEG/RM-Bench@abc123", BenchmarkSpec("rmbench", "THU-KEG/RM-Bench", "abc123")),  # old spelling
        ("judgebench@abc123", BenchmarkSpec("judgebench", "ScalerLab/JudgeBench", "abc123")),  # its usual hub name
        ("rewardbench2", BenchmarkSpec("rewardbench2", "allenai/reward-bench-2")),  # unpinned: fails when resolved
    ],
)
def test_benchmark_specs(text: str, expected: BenchmarkSpec) -> None:
    assert parse_benchmark_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mmlu=x.jsonl", "names benchmark 'mmlu'"),  # not a benchmark we know the fields of
        ("rmb@abc", "not on the hub; pass rmb=PATH"),  # RMB is only on GitHub
        ("rewardbench=", "has no location"),  # nothing after '='
    ],
)
def test_bad_benchmark_specs(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_benchmark_spec(text)


def test_an_unpinned_benchmark_hub_name_asks_for_a_commit() -> None:
    fix = "needs a pinned revision; write --decontaminate rewardbench2=allenai/reward-bench-2@COMMIT"
    with pytest.raises(SourceError, match=fix):
        resolve_benchmark(parse_benchmark_spec("rewardbench2"))


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_the_ascii_fast_path_matches_the_general_rule(text: str) -> None:
    from data_prep.decontamination import _PUNCTUATION

    assert normalise_words(text) == _PUNCTUATION.sub(" ", text.casefold()).split()
