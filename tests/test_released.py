"""Upstream's released datasets: detected by schema, through both --released-as modes, and the SFT set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.adapters import InputSpec
from data_prep.distill.released import main
from data_prep.distill.released_schema import ReleasedDataError, detect, has_label_leak, parse_prompt
from data_prep.options import BuildOptions
from data_prep.pipeline import build
from infra.cli_errors import run_cli
from infra.run_metadata import RunMetadata
from testkit.verl_datasets import assistant_only_loss, datasets_cache_in, verl_rl_dataset, verl_sft_dataset

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "released"
# The hub layout of the released sets: a list of {role, content} structs and a string.
SCHEMA = pa.schema([("context_messages", pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))),
                    ("winner", pa.string())])


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


def _hub_folder(tmp: Path, name: str) -> Path:
    """A local copy in the hub's layout: data/train-00000-of-00001.parquet."""
    folder = tmp / name.split(".")[0]
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(_rows(name), schema=SCHEMA), folder / "data" / "train-00000-of-00001.parquet")
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = run_cli(main, list(argv), prog="released")
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("winners", "expected"), [
    (["model_a", "model_b"], "rl"),  # an RL set
    (["<type>Chat</type>...<answer>[[A]]</answer>"], "sft"),  # the SFT set: winner holds the trace
])
def test_detect_by_winner_values(winners, expected) -> None:
    assert detect(list(SCHEMA.names), [{"winner": w} for w in winners], "x") == expected


@pytest.mark.parametrize(("columns", "winners", "message"), [
    (["prompt", "chosen"], ["model_a"], "lacks columns"),  # our own pair file, not released data
    (list(SCHEMA.names), ["model_a", "a trace"], "neither all model_a"),  # two sets mixed
])
def test_detect_refuses_what_it_cannot_name(columns, winners, message) -> None:
    with pytest.raises(ReleasedDataError, match=message):
        detect(columns, [{"winner": w} for w in winners], "x")


def test_single_and_multi_turn_prompts_parse_back() -> None:
    rows = _rows("rl_instruct.jsonl")
    single = parse_prompt(rows[0]["context_messages"][-1]["content"], "row 1")
    assert (single.conversation[0]["content"], single.answer_a[0]["content"], single.answer_b[0]["content"]) == (
        "What is 7 times 8?", "7 times 8 is 56.", "7 times 8 is 54.")
    two_lines = parse_prompt(rows[1]["context_messages"][-1]["content"], "row 2")
    assert two_lines.answer_b[0]["content"] == "Red is a primary colour of paint.\nSo are blue and yellow."
    multi = parse_prompt(rows[2]["context_messages"][-1]["content"], "row 3")  # spelled "Chabot B" upstream
    assert multi.multi_turn and [m["role"] for m in multi.conversation] == ["user", "assistant", "user"]
    assert multi.answer_b[0]["content"] == "Parks are nice."
    assert has_label_leak(rows[2]["context_messages"][-1]["content"])
    assert not has_label_leak(rows[3]["context_messages"][-1]["content"])


TEXT = st.text(st.characters(codec="utf-8", exclude_characters="[]\r"), min_size=1, max_size=40).filter(
    lambda t: t.strip() and t == t.strip() and ":" not in t)


@given(question=TEXT, answer_a=TEXT, answer_b=TEXT)
def test_upstream_single_turn_framing_round_trips(question: str, answer_a: str, answer_b: str) -> None:
    text = (f"[Client Question]\n{question}\n\n[The Start of Chatbot A's Response]\n{answer_a}\n"
            f"[The End of Chatbot A's Response]\n\n[The Start of Chatbot B's Response]\n{answer_b}\n"
            "[The End of Chatbot B's Response]")
    parsed = parse_prompt(text, "row")
    assert (parsed.conversation[0]["content"], parsed.answer_a[0]["content"], parsed.answer_b[0]["content"]) == (
        question, answer_a, answer_b)


def test_prompts_mode_keeps_the_released_prompt(tmp_path: Path, capsys, tiny_tokenizer) -> None:
    folder = _hub_folder(tmp_path, "rl_instruct.jsonl")
    code, out, _ = _run(capsys, "--inputs", str(folder), "--released-as", "prompts", "--out", str(tmp_path / "o"),
                        "--val-size", "1")
    assert code == 0 and "1 rows carry upstream's 'Chabot' label leak" in out
    meta = RunMetadata.read(tmp_path / "o" / "instruct" / "manifest.json")
    assert meta.prompt_version == "upstream-released" and meta.config["variant"] == "instruct"
    assert meta.counts["label_leak"] == 1 and meta.counts["rows"] == {"train": 3, "val": 1}
    folder = tmp_path / "o" / "instruct"
    rows = [r for s in ("train", "val") for r in pq.read_table(folder / f"{s}.parquet").to_pylist()]
    released = {json.dumps(r["context_messages"], sort_keys=True): r["winner"] for r in _rows("rl_instruct.jsonl")}
    for row in rows:  # the prompt is the released one, byte for byte, and the truth is its winner
        winner = released[json.dumps(row["prompt"], sort_keys=True)]
        assert row["reward_model"]["ground_truth"] == {"model_a": "A", "model_b": "B"}[winner]
    with datasets_cache_in(tmp_path / "ds"):
        assert len(verl_rl_dataset([tmp_path / "o" / "instruct" / "train.parquet"], tiny_tokenizer, 4096)) == 3


def test_prompts_mode_names_the_reasoning_variant(tmp_path: Path, capsys) -> None:
    code, _, _ = _run(capsys, "--inputs", str(FIXTURES / "rl_reasoning.jsonl"), "--released-as", "prompts",
                        "--out", str(tmp_path / "o"))
    assert code == 0 and (tmp_path / "o" / "reasoning" / "manifest.json").is_file()


def test_pairs_mode_feeds_our_build(tmp_path: Path, capsys) -> None:
    folder = _hub_folder(tmp_path, "rl_instruct.jsonl")
    code, out, _ = _run(capsys, "--inputs", str(folder), "--released-as", "pairs", "--out", str(tmp_path / "p"))
    assert code == 0 and "4 pairs (1 multi-turn" in out
    result = build(BuildOptions(inputs=(InputSpec(str(tmp_path / "p" / "pairs.jsonl")),), out=tmp_path / "b",
                                variants=("instruct",), val_size=1, seed=0, progress=False))
    rows = [r for s in ("train", "val") for r in pq.read_table(result.variants["instruct"].files[s]).to_pylist()]
    assert len(rows) == 4 and all(r["extra_info"]["prompt_version"] == "cor-v1" for r in rows)
    for row in rows:  # our prompt now, and the chosen answer (the released winner) sits where the truth says
        pair = json.loads(row["extra_info"]["pair"])
        user = row["prompt"][-1]["content"]
        assert "Chabot" not in user and "[Client Question]" not in user
        chosen = pair["chosen"][-1]["content"]
        marker = f"Chatbot {row['reward_model']['ground_truth']}"
        assert user.index(chosen) > user.index(marker)
    assert {json.loads(r["extra_info"]["pair"])["chosen"][-1]["content"] for r in rows} >= {
        "7 times 8 is 56.", "Walk once round the pond and back: about twenty minutes."}


def test_pairs_mode_fails_loudly_on_a_row_that_does_not_parse(tmp_path: Path, capsys) -> None:
    code, _, err = _run(capsys, "--inputs", str(FIXTURES / "rl_unparseable.jsonl"), "--released-as", "pairs",
                        "--out", str(tmp_path / "p"))
    assert code == 2 and "row 2" in err and "Chatbot A" in err and not (tmp_path / "p" / "pairs.jsonl").exists()


def test_an_rl_set_needs_a_mode(tmp_path: Path, capsys) -> None:
    code, _, err = _run(capsys, "--inputs", str(FIXTURES / "rl_instruct.jsonl"), "--out", str(tmp_path / "o"))
    assert code == 2 and "--released-as prompts" in err


def test_a_hub_name_needs_a_pinned_revision(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = _run(capsys, "--inputs", "gaotang/RM-R1-Distill-SFT", "--out", str(tmp_path / "o"))
    assert code == 2 and "pinned revision" in err


def test_sft_set_goes_through_the_trace_filter(tmp_path: Path, capsys, tiny_model_dir: Path, tiny_tokenizer) -> None:
    folder = _hub_folder(tmp_path / "hub", "sft.jsonl")  # beside --out, not holding it
    code, _, _ = _run(capsys, "--inputs", str(folder), "--out", str(tmp_path / "sft"), "--tokenizer",
                        str(tiny_model_dir), "--val-size", "0")
    assert code == 0
    meta = RunMetadata.read(tmp_path / "sft" / "manifest.json")
    released = meta.counts["passes"]["released"]
    assert released["asked"] == 5 and released["kept"] == 2
    assert {k: v for k, v in released["rejected"].items() if v} == {
        "incomplete_structure": 1, "no_verdict": 1, "leak": 1}
    assert meta.config["data_kind"] == "sft" and meta.config["max_length"] == 12288
    assert meta.counts["lengths"]["source"] == "tokenizer" and meta.prompt_version == "upstream-released"
    with datasets_cache_in(tmp_path / "ds"):
        dataset = verl_sft_dataset([tmp_path / "sft" / "train.parquet"], tiny_tokenizer, 8192)
    rows = pq.read_table(tmp_path / "sft" / "train.parquet").to_pylist()
    assert len(dataset) == 2 and assistant_only_loss(dataset[0], tiny_tokenizer, rows[0]["messages"][-1]["content"])


# Issue 25 items 2, 5 and 6 ---------------------------------------------------------------------------------------

def _rl_file(tmp: Path, rows: list[dict], name: str = "rl.jsonl") -> Path:
    path = tmp / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(("row_at", "winner", "says"), [
    (0, ["model_a"], "['model_a']\", 'model_a', 'model_b'], neither"),  # the traceback: a list
    (0, {"side": "model_a"}, "'model_b', \"{'side': 'model_a'}\"], neither"),  # an object: unhashable too
    (9, ["model_b"], "row 10: winner is a JSON list"),  # past the 8 rows the schema is detected from
    (9, "model_c", "row 10: winner is a string ('model_c')"),  # a string that names no side (a KeyError before)
    (9, None, "row 10: winner is a JSON null"),  # a missing winner late in the file
])
@pytest.mark.parametrize("mode", ["prompts", "pairs"])
def test_a_winner_of_the_wrong_json_type_is_one_sentence(tmp_path: Path, capsys, row_at, winner, says, mode) -> None:
    rows = (_rows("rl_instruct.jsonl") * 3)[:10]
    rows[row_at] = {**rows[row_at], "winner": winner}
    code, _, err = _run(capsys, "--inputs", str(_rl_file(tmp_path, rows)), "--released-as", mode,
                        "--out", str(tmp_path / "o"))
    assert code == 2 and says in err and "Traceback" not in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("value", "says"), [
    ({"role": "user", "content": "hi"}, "context_messages is a JSON object"),  # one message, not a list of them
    (7, "context_messages is a JSON number"),  # a number
    ([], "context_messages is an empty list"),  # an empty list
])
def test_context_messages_of_the_wrong_json_type_is_one_sentence(tmp_path: Path, capsys, value, says) -> None:
    rows = _rows("rl_instruct.jsonl")
    rows[2] = {**rows[2], "context_messages": value}
    code, _, err = _run(capsys, "--inputs", str(_rl_file(tmp_path, rows)), "--released-as", "prompts",
                        "--out", str(tmp_path / "o"))
    assert code == 2 and f"row 3: {says}" in err and err.count("\n") == 1, err


def test_repeated_prompts_are_kept_once_so_none_is_in_both_train_and_val(tmp_path: Path, capsys) -> None:
    rows = _rows("rl_instruct.jsonl")
    flipped = {**rows[0], "winner": "model_b" if rows[0]["winner"] == "model_a" else "model_a"}
    same = json.loads(json.dumps(rows[1]))
    text = same["context_messages"][-1]["content"]  # row 2 with its B answer made equal to its A answer
    a_start = text.index("[The Start of Chatbot A's Response]")
    b_start = text.index("[The Start of Chatbot B's Response]")
    answer_a = text[a_start:text.index("[The End of Chatbot A's Response]")]
    body = answer_a.replace("[The Start of Chatbot A's Response]", "")
    b_end = text.index("[The End of Chatbot B's Response]")
    same["context_messages"][-1]["content"] = (text[:b_start] + "[The Start of Chatbot B's Response]" + body
                                                + text[b_end:])
    copies = rows * 50 + [flipped, same]  # 200 rows holding 4 prompts, one of them also with the other winner
    code, out, err = _run(capsys, "--inputs", str(_rl_file(tmp_path, copies)), "--released-as", "prompts",
                          "--out", str(tmp_path / "o"), "--val-size", "0.5")
    assert code == 0, err
    meta = RunMetadata.read(tmp_path / "o" / "instruct" / "manifest.json")
    assert meta.counts["read"] == 202 and meta.counts["duplicate_prompts"] == 197
    assert meta.counts["duplicates_with_the_other_winner"] == 1 and meta.counts["identical_candidates"] == 1
    assert "197 duplicate prompts" in out and "1 identical candidates" in out
    split = {s: [json.dumps(r["prompt"]) for r in pq.read_table(tmp_path / "o" / "instruct" / f"{s}.parquet")
                 .to_pylist()] for s in ("train", "val")}
    assert sum(map(len, split.values())) == 5 and not set(split["train"]) & set(split["val"])


def test_pairs_mode_counts_repeated_prompts_and_identical_candidates(tmp_path: Path, capsys) -> None:
    rows = _rows("rl_instruct.jsonl")
    code, out, err = _run(capsys, "--inputs", str(_rl_file(tmp_path, rows * 3)), "--released-as", "pairs",
                          "--out", str(tmp_path / "o"))
    assert code == 0, err
    meta = RunMetadata.read(tmp_path / "o" / "manifest.json")
    assert meta.counts["duplicate_prompts"] == 8 and meta.counts["identical_candidates"] == 0
    assert "8 duplicate prompts" in out


@pytest.mark.parametrize("mode", ["prompts", "pairs", "sft"])
def test_the_out_folder_is_locked_while_the_rows_are_read(tmp_path: Path, capsys, monkeypatch, mode) -> None:
    """Two runs on one --out: the second is refused at once, not after the first's long read."""
    import data_prep.distill.released as module
    from infra.staged_output import lock_folder

    seen: list[list[bool]] = []  # per read of the input: was --out locked at each row?
    real = module.iter_rows

    def reading(*args, **kwargs):
        seen.append([])
        for row in real(*args, **kwargs):
            target = tmp_path / "o" / ("instruct" if mode == "prompts" else "")
            fd = lock_folder(target) if target.is_dir() else None
            seen[-1].append(target.is_dir() and fd is None)  # True: a run holds it while we read
            if fd is not None:
                os.close(fd)
            yield row

    monkeypatch.setattr(module, "iter_rows", reading)
    name = "sft.jsonl" if mode == "sft" else "rl_instruct.jsonl"
    args = [] if mode == "sft" else ["--released-as", mode]
    code, _, err = _run(capsys, "--inputs", str(FIXTURES / name), *args, "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert len(seen) == 2 and all(seen[1][1:])  # the schema probe, then the full read: under the lock past row 1


@pytest.mark.parametrize(("out", "says"), [
    ("hub", "--out '{tmp}/hub' is --inputs"),  # --out the snapshot folder itself
    ("hub/data/built", "--out '{tmp}/hub/data/built' is inside --inputs"),  # inside the snapshot
    ("link", "--out '{tmp}/link' is --inputs"),  # a symlink to the snapshot (not in the issue)
])
def test_an_out_that_collides_with_the_input_is_refused(tmp_path: Path, capsys, out, says) -> None:
    folder = _hub_folder(tmp_path / "x", "rl_instruct.jsonl")
    os.replace(folder, tmp_path / "hub")
    (tmp_path / "link").symlink_to(tmp_path / "hub")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "hub").rglob("*"))
    code, _, err = _run(capsys, "--inputs", str(tmp_path / "hub"), "--released-as", "prompts",
                        "--out", str(tmp_path / out))
    assert code == 2 and says.format(tmp=tmp_path) in err and err.count("\n") == 1, err
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "hub").rglob("*")) == before
