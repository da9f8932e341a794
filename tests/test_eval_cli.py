"""End to end: `eval/rewardbench.py` on the bundled synthetic fixture against scripted loopback judges.

The fixture (preflight/samples/rewardbench_sample.jsonl, exact RewardBench schema) puts the marker
"(checked)" in the preferred answer of 14 items (C), in the rejected answer of 5 (R) and in neither of
4 (N). The marker judge picks the marked answer and falls back to A, so per item: C is right in both
orders, R wrong in both, N right only with the preferred answer as A. Per subset (mean of orders):
  alpacaeval-easy C C C N -> 3.5/4   mt-bench-med C R -> 1/2     (Chat: 100 and 40 examples)
  llmbar-natural  C R N   -> 1.5/3   llmbar-adver-manual C C -> 1 (Chat Hard: 100 and 46)
  refusals-dangerous C C R -> 2/3    xstest-should-respond C N N -> 2/3 (Safety: 100 and 250)
  math-prm C C C -> 1                hep-python C R R -> 1/3      (Reasoning: 984 and 164)
Every expected number below is written out by hand from this table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import rewardbench, session
from eval.compare import main as compare_main
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import fixed_text, marker_policy

MARKER = "(checked)"
CHAT = (100 * 3.5 / 4 + 40 * 0.5) / 140  # 107.5 / 140
CHAT_HARD = (100 * 0.5 + 46 * 1.0) / 146  # 96 / 146
SAFETY = (100 * 2 / 3 + 250 * 2 / 3) / 350  # 2 / 3
REASONING = (984 * 1.0 + 164 * (1 / 3)) / 1148  # 19 / 21
MARKER_SCORE = (CHAT + CHAT_HARD + SAFETY + REASONING) / 4  # 0.749205...


@pytest.fixture(scope="module")
def fixture_path(repo_root: Path) -> str:
    return str(repo_root / "preflight" / "samples" / "rewardbench_sample.jsonl")


@pytest.fixture(scope="module")
def marker_judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy(MARKER, fallback="A")) as judge:
        yield judge


@pytest.fixture(scope="module")
def always_a_judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge("always_a") as judge:
        yield judge


@pytest.fixture(scope="module")
def unparseable_judge() -> Iterator[LoopbackJudge]:
    # strict: not_at_end (no tags, text after the mark); lenient: reads A
    with LoopbackJudge(fixed_text("I think [[A]] is better.")) as judge:
        yield judge


def run_cli(judge: LoopbackJudge, data: str, out: Path, *extra: str) -> tuple[int, dict | None]:
    argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--data", data,
            "--out", str(out), "--no-progress", "--no-plots", *extra]
    code = rewardbench.main(argv)
    summary = out / "summary.json"
    return code, json.loads(summary.read_text()) if summary.is_file() else None


def test_marker_judge_scores_exactly_as_hand_computed(marker_judge: LoopbackJudge, fixture_path: str,
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = marker_judge.call_count
    code, summary = run_cli(marker_judge, fixture_path, tmp_path, "--no-progress")
    assert code == 0 and summary is not None
    assert marker_judge.call_count - before == 46  # 23 comparisons x 2 orders, each asked once
    strict = summary["scores"]["strict"]
    head = strict["mean_of_orders"]
    assert summary["score"] == pytest.approx(MARKER_SCORE) and head["overall"] == pytest.approx(MARKER_SCORE)
    assert head["sections"] == pytest.approx({"Chat": CHAT, "Chat Hard": CHAT_HARD, "Safety": SAFETY,
                                              "Reasoning": REASONING})
    assert head["micro_mean"] == pytest.approx(16 / 23)  # 14 C + 4 N x 1/2
    assert strict["chosen_as_A"]["sections"]["Chat"] == pytest.approx((100 * 1.0 + 40 * 0.5) / 140)  # N right as A
    assert strict["chosen_as_B"]["sections"]["Safety"] == pytest.approx((100 * 2 / 3 + 250 * 1 / 3) / 350)
    assert strict["both_correct"]["micro_mean"] == pytest.approx(14 / 23)  # only C items
    position = summary["position"]["strict"]
    assert position["accuracy_chosen_as_A"] == pytest.approx(18 / 23)  # C + N
    assert position["accuracy_chosen_as_B"] == pytest.approx(14 / 23)  # C
    assert position["both_orders_accuracy"] == pytest.approx(14 / 23)
    assert position["position_consistency"] == pytest.approx(19 / 23)  # C and R pick the same answer twice
    assert position["a_pick_rate"] == pytest.approx(27 / 46)  # 14 (C) + 5 (R) + 8 (N) A verdicts
    assert summary["failures"]["strict"]["parse_failure_rate"] == 0.0
    assert summary["scores"]["lenient"] == summary["scores"]["strict"]  # the scripted verdicts are strict-clean
    report = (tmp_path / "report.md").read_text()
    assert "74.92" in report and "micro mean" in report and "no verdict scores 0" in report
    assert len((tmp_path / "items.jsonl").read_text().splitlines()) == 23
    assert "score 74.92" in capsys.readouterr().out


def test_always_a_has_zero_both_orders_accuracy_and_zero_consistency(always_a_judge: LoopbackJudge,
                                                                     fixture_path: str, tmp_path: Path) -> None:
    code, summary = run_cli(always_a_judge, fixture_path, tmp_path)
    assert code == 0 and summary is not None
    position = summary["position"]["strict"]
    assert summary["score"] == 0.5  # right exactly when the preferred answer is A: 1/2 per comparison
    assert position["both_orders_accuracy"] == 0.0 and position["position_consistency"] == 0.0
    assert position["items_with_both_verdicts"] == 23
    assert (position["a_pick_rate"], position["a_bias"]) == (1.0, 0.5)
    assert (position["accuracy_chosen_as_A"], position["accuracy_chosen_as_B"]) == (1.0, 0.0)


def test_parse_failures_are_rated_and_scored_by_one_flag(unparseable_judge: LoopbackJudge, fixture_path: str,
                                                         tmp_path: Path) -> None:
    code, summary = run_cli(unparseable_judge, fixture_path, tmp_path)
    assert code == 0 and summary is not None
    failures = summary["failures"]
    assert failures["strict"] == {"parse_failures": 46, "parse_failure_rate": 1.0, "reasons": {"not_at_end": 46}}
    assert failures["lenient"]["parse_failure_rate"] == 0.0
    assert summary["score"] == 0.0  # strict, no verdict scores 0
    assert summary["scores"]["lenient"]["mean_of_orders"]["overall"] == 0.5  # lenient reads "always A"
    calls = unparseable_judge.call_count
    code, half = run_cli(unparseable_judge, fixture_path, tmp_path, "--parse-failure-score", "0.5")
    assert code == 0 and half is not None and unparseable_judge.call_count == calls  # re-scored from the cache
    assert half["score"] == 0.5 and half["conventions"]["parse_failure_score"] == 0.5
    assert "no verdict scores 0.5" in (tmp_path / "report.md").read_text()
    code, lenient = run_cli(unparseable_judge, fixture_path, tmp_path, "--parse-mode", "lenient")
    assert code == 0 and lenient is not None and lenient["score"] == 0.5 and unparseable_judge.call_count == calls


def test_a_parser_change_rescores_without_regenerating(marker_judge: LoopbackJudge, fixture_path: str,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(marker_judge, fixture_path, tmp_path)[0] == 0
    calls = marker_judge.call_count
    from reward_fns import ParsedVerdict

    monkeypatch.setattr("eval.scoring.parse_verdict", lambda text, mode="strict": ParsedVerdict("B", None))
    code, summary = run_cli(marker_judge, fixture_path, tmp_path)
    assert code == 0 and summary is not None and marker_judge.call_count == calls  # zero new generations
    assert summary["score"] == 0.5  # the changed parser says B everywhere: right only with the preferred as B


def test_random_order_is_seeded_and_reuses_both_order_generations(always_a_judge: LoopbackJudge,
                                                                  fixture_path: str, tmp_path: Path) -> None:
    assert run_cli(always_a_judge, fixture_path, tmp_path / "both")[0] == 0
    calls = always_a_judge.call_count
    cache = str(tmp_path / "both" / "generations.jsonl")
    code, first = run_cli(always_a_judge, fixture_path, tmp_path / "r1", "--order", "random", "--seed", "3",
                          "--cache", cache)
    assert code == 0 and first is not None and always_a_judge.call_count == calls  # every order already cached
    position = first["position"]["strict"]
    as_a = position["judgments_chosen_as_A"]
    assert as_a + position["judgments_chosen_as_B"] == 23 and first["metadata"]["counts"]["judgments"] == 23
    assert first["scores"]["strict"]["random_order"]["micro_mean"] == pytest.approx(as_a / 23)  # always A
    assert first["conventions"]["order_seed"] == 3 and "both_correct" not in first["scores"]["strict"]
    _, again = run_cli(always_a_judge, fixture_path, tmp_path / "r2", "--order", "random", "--seed", "3",
                       "--cache", cache)
    assert again is not None and again["scores"] == first["scores"]


def test_limit_takes_every_subset_and_marks_the_run_incomplete(marker_judge: LoopbackJudge, fixture_path: str,
                                                               tmp_path: Path) -> None:
    code, summary = run_cli(marker_judge, fixture_path, tmp_path, "--limit", "8")
    assert code == 0 and summary is not None
    assert summary["metadata"]["counts"]["items"] == 8 and summary["metadata"]["counts"]["total_items"] == 23
    assert len(summary["scores"]["strict"]["mean_of_orders"]["subsets"]) == 8  # the first item of each subset
    assert summary["complete"] is False and "INCOMPLETE" in (tmp_path / "report.md").read_text()


def test_progress_bar_reports_judgments_per_second(marker_judge: LoopbackJudge, fixture_path: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--base-url", marker_judge.base_url, "--model", "loopback-judge", "--variant", "instruct",
            "--data", fixture_path, "--out", str(tmp_path), "--limit", "4", "--no-plots"]
    assert rewardbench.main(argv) == 0
    assert "judgment/s" in capsys.readouterr().err


def test_compare_puts_two_runs_side_by_side(marker_judge: LoopbackJudge, always_a_judge: LoopbackJudge,
                                            fixture_path: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(always_a_judge, fixture_path, tmp_path / "a")
    run_cli(marker_judge, fixture_path, tmp_path / "b")
    capsys.readouterr()
    assert compare_main([str(tmp_path / "a"), str(tmp_path / "b" / "summary.json"), "--resamples", "500",
                         "--out", str(tmp_path / "cmp.md")]) == 0
    text = capsys.readouterr().out
    assert "| **score (mean of sections)** | 50.00 | 74.92 | +24.92 |" in text  # 0.749205 - 0.5
    assert "| Reasoning | 50.00 | 90.48 | +40.48 |" in text  # 19/21 - 1/2
    assert "NOT LIKE FOR LIKE" not in text and (tmp_path / "cmp.md").read_text() == text
    low, high = text.split("+24.92 | [")[1].split("]")[0].split(", ")
    assert float(low) < 24.92 < float(high)
    assert compare_main([str(tmp_path / "a"), str(tmp_path / "missing")]) == 2


def test_every_flag_is_documented() -> None:
    parser = session.make_parser(rewardbench.BENCHMARK, "python eval/rewardbench.py", rewardbench.__doc__)
    undocumented = [a.dest for a in parser._actions if not a.help]
    assert undocumented == []
