"""--votes k through run_all: per-sample cache keys (k=8 reuses k=4's, k=1 keeps today's), voted verdicts scored
by the benchmark's own rule, exact against a replay of the seeded scripted judge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import run_all, session
from eval.voted import random_order
from reward_fns import parse_verdict
from testkit.scaling_judges import SeededJudgeBackend

PAIRS = 12


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[SeededJudgeBackend]:
    backend = SeededJudgeBackend(tokens=50)
    backend.close = lambda: None  # type: ignore[method-assign]  # one judge across several runs of a test
    monkeypatch.setattr(session, "make_backend", lambda args: backend)
    yield backend


def judgebench_rows(path: Path) -> Path:
    """Synthetic JudgeBench pairs whose better answer carries the higher (quality N) marker."""
    rows = [{"pair_id": f"p{i}", "original_id": f"o{i}", "source": "mmlu-pro-x", "question": f"Question {i}?",
             "response_model": "m", "response_A": f"Answer one (quality {8 if i % 2 else 3}).",
             "response_B": f"Answer two (quality {3 if i % 2 else 8}).", "label": "A>B" if i % 2 else "B>A"}
            for i in range(PAIRS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(data: Path, out: Path, cache: Path, *flags: str) -> dict[str, object]:
    argv = ["--benchmarks", "judgebench", f"--data=judgebench={data}", "--variant", "instruct", "--out", str(out),
            "--cache", str(cache), "--no-progress", "--no-plots", "--temperature", "0.7", *flags]
    assert run_all.main(argv) == 0
    return json.loads((out / "judgebench" / "summary.json").read_text())


def replayed_score(cache: Path, votes: int) -> float:
    """JudgeBench's net over both orders from the cache: each order's first samples voted (a tie to the first)."""
    samples: dict[tuple[str, str], list[bool | None]] = {}
    for line in cache.read_text().splitlines():  # appended in sample order: sample 0 of every comparison first
        record = json.loads(line)
        label = parse_verdict(record["text"]).label
        samples.setdefault((record["item_id"], record["tag"]), []).append(None if label is None else
                                                                          label == record["tag"])
    right = 0
    for i in range(PAIRS):
        first = random_order(f"p{i}", 0)  # sample 0's order; samples alternate from it
        voted = []
        for tag in ("A", "B"):
            drawn = samples[f"p{i}", tag][: (votes + 1) // 2 if tag == first else votes // 2]
            valid = [d for d in drawn if d is not None]
            yes, no = valid.count(True), valid.count(False)
            voted.append(yes > no or (yes == no and bool(valid) and valid[0]))
        right += all(voted)  # JudgeBench: the net of both orders is > 0 iff both voted verdicts are right
    return right / PAIRS


def test_votes_are_cached_per_sample_and_scored_exactly(tmp_path: Path, judge: SeededJudgeBackend) -> None:
    data, cache = judgebench_rows(tmp_path / "jb.jsonl"), tmp_path / "generations.jsonl"
    summary = run(data, tmp_path / "k3", cache, "--votes", "3")
    assert judge.calls == 3 * PAIRS  # k calls per comparison, orders alternated
    assert summary["conventions"]["votes"] == 3
    assert "3 sampled votes per comparison" in (tmp_path / "k3" / "report.md").read_text()  # run_all's report
    report = (tmp_path / "k3" / "judgebench" / "report.md").read_text()
    assert "3 votes per comparison: each order's samples voted" in report
    assert summary["score"] == pytest.approx(replayed_score(cache, 3))
    for line in (tmp_path / "k3" / "judgebench" / "items.jsonl").read_text().splitlines():
        votes = [j["votes"]["strict"] for j in json.loads(line)["judgments"]]  # each order's samples and margin
        assert sorted(len(v["labels"]) for v in votes) == [1, 2]  # 3 samples, orders alternated
        for v in votes:
            labels = [label for label in v["labels"] if label is not None]
            assert v["margin"] == abs(labels.count("A") - labels.count("B"))
    summary = run(data, tmp_path / "k5", cache, "--votes", "5")
    assert judge.calls == 5 * PAIRS  # k=5 generated only samples 3 and 4
    assert summary["score"] == pytest.approx(replayed_score(cache, 5))
    run(data, tmp_path / "k1", cache, "--votes", "1", "--order", "random")
    assert judge.calls == 5 * PAIRS  # k=1 in the seeded order is sample 0: today's key, nothing new


def test_greedy_votes_are_refused(tmp_path: Path, judge: SeededJudgeBackend, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    data = judgebench_rows(tmp_path / "jb.jsonl")
    assert run_all.main(["--benchmarks", "judgebench", f"--data=judgebench={data}", "--variant", "instruct",
                         "--out", str(tmp_path / "o"), "--votes", "4"]) == 2
    assert "--temperature 0 is greedy" in capsys.readouterr().err
    assert judge.calls == 0


def test_scaling_curve_generates_the_largest_k_once(tmp_path: Path, judge: SeededJudgeBackend) -> None:
    from eval import scaling

    data = judgebench_rows(tmp_path / "jb.jsonl")
    assert scaling.main(["--benchmarks", "judgebench", f"--data=judgebench={data}", "--variant", "instruct",
                         "--out", str(tmp_path / "curve"), "--no-progress", "--no-plots", "--temperature", "0.7",
                         "--ks", "1,2,4,8"]) == 0
    # both orders: samples 0-7 alternated; one order: its odd samples are new (its even ones are both's)
    assert judge.calls == 8 * PAIRS + 4 * PAIRS
    points = json.loads((tmp_path / "curve" / "scaling.json").read_text())["points"]
    assert [(p["orders"], p["k"], p["calls"], p["tokens"]) for p in points] == [
        (orders, k, k * PAIRS, 50 * k * PAIRS) for orders in ("both", "random") for k in (1, 2, 4, 8)]
    assert points[0]["score"] == points[4]["score"]  # k=1 is one judgment in the seeded order for both curves
    summary = run(data, tmp_path / "k4", tmp_path / "curve" / "generations.jsonl", "--votes", "4")
    assert judge.calls == 12 * PAIRS  # the same samples, from the curve's cache
    assert summary["score"] == next(p["score"] for p in points if p["orders"] == "both" and p["k"] == 4)
