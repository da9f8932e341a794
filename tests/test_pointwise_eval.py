"""python eval/pointwise.py: pairwise accuracy from two pointwise scores (ties counted), votes summed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import pointwise, session
from testkit.scaling_judges import SeededJudgeBackend
from testkit.scripted_backend import ScriptedBackend

PAIRS = 6


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    chosen: list[object] = []
    monkeypatch.setattr(session, "make_backend", lambda args: chosen[0])
    yield chosen


def judgebench_rows(path: Path, worse_quality: int = 3) -> Path:
    """Synthetic JudgeBench pairs: the better answer has quality 8, the other ``worse_quality``."""
    rows = [{"pair_id": f"p{i}", "original_id": f"o{i}", "source": "mmlu-pro-x", "question": f"Question {i}?",
             "response_model": "m", "response_A": f"First answer {i} (quality {8 if i % 2 else worse_quality}).",
             "response_B": f"Second answer {i} (quality {worse_quality if i % 2 else 8}).",
             "label": "A>B" if i % 2 else "B>A"} for i in range(PAIRS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def pointwise_run(tmp_path: Path, data: Path, *flags: str) -> dict[str, object]:
    out = tmp_path / "out"
    assert pointwise.main(["--benchmark", "judgebench", "--data", str(data), "--variant", "instruct",
                           "--out", str(out), "--no-progress", *flags]) == 0
    return json.loads((out / "pointwise.json").read_text())


# (judge right share of 4, worse answer's quality, strict accuracy, (wins, ties, losses, failures))
CASES = [
    (4, 3, 1.0, (PAIRS, 0, 0, 0)),  # always right: the better answer scores 8, the other 3
    (0, 3, 0.0, (0, 0, PAIRS, 0)),  # always wrong: scores 11 - quality, so 3 against 8
    (4, 8, 0.5, (0, PAIRS, 0, 0)),  # equal quality: every pair a tie, half a point each
]


@pytest.mark.parametrize(("right", "worse", "accuracy", "outcomes"), CASES)
def test_pairwise_accuracy_from_pointwise_scores(tmp_path: Path, backend: list[object], right: int, worse: int,
                                                 accuracy: float, outcomes: tuple[int, int, int, int]) -> None:
    judge = SeededJudgeBackend(right=right, tokens=5)
    backend.append(judge)
    result = pointwise_run(tmp_path, judgebench_rows(tmp_path / "jb.jsonl", worse))
    strict = result["modes"]["strict"]  # type: ignore[index]
    assert strict["accuracy"] == accuracy
    assert (strict["wins"], strict["ties"], strict["losses"], strict["failures"]) == outcomes
    assert result["calls"] == judge.calls == 2 * PAIRS  # one call per answer
    assert result["tokens"] == 5 * 2 * PAIRS


def test_votes_are_cached_per_sample(tmp_path: Path, backend: list[object]) -> None:
    judge = SeededJudgeBackend()
    backend.append(judge)
    data = judgebench_rows(tmp_path / "jb.jsonl")
    pointwise_run(tmp_path, data, "--votes", "3", "--temperature", "0.7")
    assert judge.calls == 3 * 2 * PAIRS
    pointwise_run(tmp_path, data, "--votes", "5", "--temperature", "0.7")
    assert judge.calls == 5 * 2 * PAIRS  # k=5 generated only samples 3 and 4


def test_unparseable_scores_are_failures(tmp_path: Path, backend: list[object]) -> None:
    backend.append(ScriptedBackend("fixed", text="I would say about an 8."))
    result = pointwise_run(tmp_path, judgebench_rows(tmp_path / "jb.jsonl"), "--parse-failure-score", "0.5")
    assert result["modes"]["strict"]["failures"] == PAIRS  # type: ignore[index]
    assert result["modes"]["strict"]["accuracy"] == 0.5  # type: ignore[index]
