"""The model card: one codec (huggingface_hub's ModelCard) and ``python -m launch.model_card HF_DIR --eval S``.

Scores enter only from a summary that judged this folder's weights, with their provenance; a partial
run (``--limit``, ``--shard``, a fixture set, a summary that does not say) never poses as or replaces
a complete score (issues 24 and 25).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.checkpoint_id import checkpoint_fingerprint
from infra.cli_errors import run_cli
from infra.model_card import CardFacts, facts_of, read_block, read_front, render
from launch.export.card_eval import main

FACTS = {"stage": "rl", "recipe": "rl_qwen7b", "step": 5, "prompt_variant": "instruct", "prompt_version": "cor-v1",
         "verdict_version": "v", "exported_at": "2026-01-01", "files": ["config.json", "model.safetensors"]}


def _model(folder: Path, weights: bytes = b"weights") -> Path:
    """An exported folder: config, weights and this project's card."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "README.md").write_text(render(CardFacts(**FACTS)))
    return folder


def _summary(path: Path, model: str, *, complete: bool | None = True, partial: list[str] | None = None,
             score: float = 0.75) -> Path:
    """A summary.json as eval writes one (only the fields the card reads)."""
    coverage = {"complete": complete, "split": "filtered", "scored": 2985 if complete else 23, "official": 2985,
                "partial": partial or []}
    summary = {"benchmark": "rewardbench", "score": score, "coverage": coverage,
               "conventions": {"parse_mode": "strict"},
               "failures": {"strict": {"parse_failure_rate": 0.25}},
               "metadata": {"model": model, "prompt_version": "cor-v1", "sampling": {"max_new_tokens": 8192},
                            "inputs": [{"name": "allenai/reward-bench", "revision": "abc123", "sha256": "f" * 64}],
                            "counts": {"items": 2985, "judgments": 5970}}}
    if complete is not None:
        summary["complete"] = complete
    path.write_text(json.dumps(summary))
    return path


def _id(folder: Path) -> str:
    return f"vllm:ckpt-{checkpoint_fingerprint(folder)[:24]}"


def _card(folder: Path, argv: list[str], capsys) -> tuple[int, str]:
    code = run_cli(main, [str(folder), *argv], prog="python -m launch.model_card")
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_a_complete_score_enters_with_its_provenance_and_as_an_eval_result(tmp_path, capsys) -> None:
    model = _model(tmp_path / "hf")
    assert _card(model, ["--eval", str(_summary(tmp_path / "s.json", _id(model)))], capsys)[0] == 0
    entry = read_block(model)["eval"]["rewardbench"]
    assert entry["complete"] is True and entry["rows"] == {"scored": 2985, "official": 2985}
    assert entry["data"] == {"source": "allenai/reward-bench", "revision": "abc123", "sha256": "f" * 64}
    assert (entry["max_new_tokens"], entry["parse_failure_rate"], entry["prompt_version"]) == (8192, 0.25, "cor-v1")
    index = read_front(model)["model-index"][0]["results"][0]  # what the hub shows as a benchmark result
    assert index["dataset"]["type"] == "allenai/reward-bench" and index["metrics"][0]["value"] == 75.0
    assert "| rewardbench | 75.00 | 2985 of 2985 |" in (model / "README.md").read_text()


# (the summary's completeness, why partial): each was recorded as a benchmark score before (issue 24 item 2).
PARTIAL = [
    (False, ["--limit 23"]),  # a --limit or fixture run: 23 items of 2985
    (False, ["shard 0/4"]),  # one shard of a data-parallel run
    (None, []),  # an older summary that does not say: unknown is partial, never complete
]


@pytest.mark.parametrize(("complete", "partial"), PARTIAL)
def test_a_partial_run_is_marked_and_never_an_eval_result(tmp_path, capsys, complete, partial) -> None:
    model = _model(tmp_path / "hf")
    summary = _summary(tmp_path / "s.json", _id(model), complete=complete, partial=partial)
    assert _card(model, ["--eval", str(summary)], capsys)[0] == 0
    entry = read_block(model)["eval"]["rewardbench"]
    assert entry["complete"] is False and entry["partial"] == (partial or ["not stated as complete"])
    assert "model-index" not in read_front(model)
    text = (model / "README.md").read_text()
    assert "Partial runs (not benchmark results):" in text and "| rewardbench |" not in text


def test_a_partial_run_never_replaces_a_complete_score(tmp_path, capsys) -> None:
    """Issue 25: a --shard or --limit run replaced the complete score in the card."""
    model = _model(tmp_path / "hf")
    assert _card(model, ["--eval", str(_summary(tmp_path / "full.json", _id(model)))], capsys)[0] == 0
    before = (model / "README.md").read_bytes()
    limited = _summary(tmp_path / "limit.json", _id(model), complete=False, partial=["--limit 5"], score=1.0)
    code, err = _card(model, ["--eval", str(limited)], capsys)
    assert code == 0 and "keeps its complete rewardbench score" in err
    assert (model / "README.md").read_bytes() == before


@pytest.mark.parametrize("judge", [
    "vllm:ckpt-0123456789abcdef01234567",  # issue 25: another checkpoint's summary was accepted
    "openai:judge@http://127.0.0.1:8000/v1",  # a served judge: nothing ties it to these weights
    None,  # a summary that records no model
])
def test_a_summary_of_another_model_is_refused_naming_both(tmp_path, capsys, judge) -> None:
    model = _model(tmp_path / "hf")
    before = (model / "README.md").read_bytes()
    summary = _summary(tmp_path / "s.json", judge)
    code, err = _card(model, ["--eval", str(summary)], capsys)
    assert code == 2 and str(model) in err and f"ckpt-{checkpoint_fingerprint(model)[:24]}" in err
    assert str(judge or "an unrecorded model") in err and len(err.strip().splitlines()) == 1
    assert (model / "README.md").read_bytes() == before


def test_another_folders_summary_is_refused(tmp_path, capsys) -> None:
    model, other = _model(tmp_path / "hf"), _model(tmp_path / "other", weights=b"other weights")
    code, err = _card(model, ["--eval", str(_summary(tmp_path / "s.json", _id(other)))], capsys)
    assert code == 2 and _id(other) in err


@pytest.mark.parametrize("case", [
    "missing",  # issue 25: exit 0 printing {}
    "file",  # a file given as the folder
    "no_card",  # a folder this project did not export
])
def test_a_folder_that_is_not_an_export_is_exit_2(tmp_path, capsys, case) -> None:
    target = tmp_path / "x"
    if case == "file":
        target.write_text("x")
    elif case == "no_card":
        target.mkdir()
    code, err = _card(target, [], capsys)
    assert code == 2 and str(target) in err and len(err.strip().splitlines()) == 1


_TEXT = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(recipe=_TEXT, step=st.integers(0, 10**9), variant=_TEXT, version=_TEXT,
       overrides=st.lists(_TEXT, max_size=3))
def test_what_the_card_writes_it_reads_back(tmp_path_factory, recipe, step, variant, version, overrides) -> None:
    """One codec: render and read through huggingface_hub's ModelCard give back the same facts."""
    folder = tmp_path_factory.mktemp("card")
    facts = CardFacts(stage="sft", recipe=recipe, step=step, prompt_variant=variant, prompt_version=version,
                      verdict_version="v", base_model="Qwen/Qwen2.5-7B-Instruct", overrides=overrides)
    (folder / "README.md").write_text(render(facts), encoding="utf-8")
    assert facts_of(folder) == facts
