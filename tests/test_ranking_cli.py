"""python eval/rank.py: ranking through the cache and the verdict parser, cost beside accuracy, benchmarks labelled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import rank, session
from testkit.scaling_judges import SeededJudgeBackend
from testkit.scripted_backend import ScriptedBackend

SAMPLES = Path(__file__).resolve().parents[1] / "preflight" / "samples"
SIZES = (2, 3, 4, 5)  # candidates per prompt


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    chosen: list[object] = []
    monkeypatch.setattr(session, "make_backend", lambda args: chosen[0])
    yield chosen


def candidates_file(path: Path) -> Path:
    """Prompts whose candidate i has quality 9 - i; the best (index 0) is listed first, rank.py shuffles them."""
    rows = [{"id": f"q{n}", "prompt": f"Question {n}?", "candidates": [f"Answer {i} (quality {9 - i})."
                                                                        for i in range(n)], "best": 0}
            for n in SIZES]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def rank_run(tmp_path: Path, *flags: str) -> dict[str, object]:
    out = tmp_path / "out"
    assert rank.main([*flags, "--variant", "instruct", "--out", str(out), "--no-progress"]) == 0
    return json.loads((out / "rank.json").read_text())


# (method, judge right share of 4, accuracy, judge calls per prompt of n candidates)
CASES = [
    ("knockout", 4, 1.0, lambda n: n - 1),  # a judge always right: the best always wins, n-1 matches
    ("knockout", 0, 0.0, lambda n: n - 1),  # always wrong: the best loses its first match
    ("round-robin", 4, 1.0, lambda n: n * (n - 1) // 2),  # always right: the best beats everyone
    ("round-robin", 0, 0.0, lambda n: n * (n - 1) // 2),  # always wrong: the best beats no one
]


@pytest.mark.parametrize(("method", "right", "accuracy", "calls"), CASES)
def test_exact_accuracy_and_cost(tmp_path: Path, backend: list[object], method: str, right: int, accuracy: float,
                                 calls: object) -> None:
    judge = SeededJudgeBackend(right=right, tokens=7)
    backend.append(judge)
    result = rank_run(tmp_path, "--data", str(candidates_file(tmp_path / "c.jsonl")), "--method", method)
    expected_calls = sum(calls(n) for n in SIZES)  # type: ignore[operator]
    assert result["accuracy"] == accuracy
    assert result["calls"] == expected_calls == judge.calls
    assert result["tokens"] == 7 * expected_calls
    assert "judge calls" in (tmp_path / "out" / "rank.md").read_text()


def test_votes_per_match_and_the_cache(tmp_path: Path, backend: list[object]) -> None:
    judge = SeededJudgeBackend(tokens=1)
    backend.append(judge)
    data = str(candidates_file(tmp_path / "c.jsonl"))
    first = rank_run(tmp_path, "--data", data, "--votes", "3", "--temperature", "0.7")
    assert first["calls"] == 3 * sum(n - 1 for n in SIZES) == judge.calls
    again = rank_run(tmp_path, "--data", data, "--votes", "3", "--temperature", "0.7")
    assert again == first and judge.calls == first["calls"]  # a rerun reads every judgment from the cache


def test_rmb_best_of_n_is_labelled_and_skips_pairwise_items(tmp_path: Path, backend: list[object]) -> None:
    backend.append(ScriptedBackend("marker", marker="(checked)"))
    result = rank_run(tmp_path, "--benchmark", "rmb", "--data", str(SAMPLES / "rmb_sample"))
    assert "not RMB's official" in str(result["label"])
    prompts = {p["id"]: p for p in result["prompts"]}  # type: ignore[union-attr]
    assert len(prompts) == 4 and result["left_out"] > 0  # the 4 best-of-N items; pairwise items left out
    assert result["calls"] == sum(p["candidates"] - 1 for p in prompts.values())
    uniquely_marked = [p for p in prompts.values() if p["id"].endswith("1")]  # the best alone carries the marker
    assert uniquely_marked and all(p["score"] == 1.0 for p in uniquely_marked)


# (flags, what the one-sentence refusal says)
REFUSED = [
    (["--order", "random"], "--order does not apply to ranking"),  # ranking alternates orders itself
    ([], "needs --data"),  # no candidates at all
    (["--votes", "2"], "--temperature 0 is greedy"),  # votes need sampling
]


@pytest.mark.parametrize(("flags", "message"), REFUSED)
def test_bad_flags_are_one_sentence(tmp_path: Path, backend: list[object], capsys: pytest.CaptureFixture[str],
                                    flags: list[str], message: str) -> None:
    backend.append(SeededJudgeBackend())
    data = [] if flags == [] else ["--data", str(candidates_file(tmp_path / "c.jsonl"))]
    assert rank.main([*data, *flags, "--variant", "instruct", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_bad_row_names_its_line(tmp_path: Path, backend: list[object], capsys: pytest.CaptureFixture[str]) -> None:
    backend.append(SeededJudgeBackend())
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "prompt": "p", "candidates": ["only one"], "best": 0}) + "\n")
    assert rank.main(["--data", str(bad), "--variant", "instruct", "--out", str(tmp_path / "o")]) == 2
    assert "line 1 needs an id, a prompt, 2 or more candidates" in capsys.readouterr().err


def test_rewardbench2_leaves_prompts_with_several_correct_answers_out(tmp_path: Path, backend: list[object]) -> None:
    backend.append(ScriptedBackend("marker", marker="(checked)"))
    result = rank_run(tmp_path, "--benchmark", "rewardbench2", "--data", str(SAMPLES / "rewardbench2_sample.jsonl"),
                      "--method", "round-robin")
    assert "RewardBench 2" in str(result["label"]) and "not the official" in str(result["label"])
    prompts = result["prompts"]  # type: ignore[assignment]
    # best-of-4 subsets, and the Ties prompt with one correct answer (best-of-3); the tied prompt is left out
    assert sorted({p["candidates"] for p in prompts}) == [3, 4]  # type: ignore[index]
    assert result["left_out"] == 1
    assert result["calls"] == sum(p["candidates"] * (p["candidates"] - 1) // 2 for p in prompts)  # type: ignore
