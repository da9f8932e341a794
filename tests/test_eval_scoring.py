"""Orders, verdict scoring, position statistics and the runner's dedup / skip / reject accounting (in process)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from data_prep.pairs import make_pair
from data_prep.prompts import builtin_template
from eval import session
from eval.aggregate import by_item, failure_stats, item_views, position_stats
from eval.backends.base import Generation, Messages, OnResult, Request, Sampling
from eval.benchmark import Item, stratified
from eval.benchmarks import rewardbench
from eval.cache import GenerationCache
from eval.comparison import Comparison
from eval.errors import EvalError
from eval.evaluate import EvalConfig
from eval.runner import Outcome, comparison_judgments, run_judgments
from eval.scoring import ScoredJudgment, Verdict, score_judgments
from eval.voted import plan_orders, random_order
from reward_fns import compute_score, format_verdict
from testkit.scripted_backend import ScriptedBackend

TEMPLATE = builtin_template("instruct")


def _judged(tag: str, strict: str | None, lenient: str | None = None, item: str = "i") -> ScoredJudgment:
    """A judgment of item ``item`` with the preferred answer at ``tag`` and the given verdict labels."""
    lenient = strict if lenient is None else lenient
    return ScoredJudgment(item, tag, f"{item}{tag}", "stop", None, Verdict(strict, None if strict else "missing"),
                          Verdict(lenient, None if lenient else "missing"))


def _views(mean: float, as_a: float, as_b: float, both: float) -> dict[str, float]:
    return {"mean_of_orders": mean, "chosen_as_A": as_a, "chosen_as_B": as_b, "both_correct": both}


@pytest.mark.parametrize(
    ("a_label", "b_label", "failure_score", "expected"),
    [
        ("A", "B", 0.0, _views(1.0, 1.0, 1.0, 1.0)),  # right in both orders
        ("B", "A", 0.0, _views(0.0, 0.0, 0.0, 0.0)),  # wrong in both orders
        ("A", "A", 0.0, _views(0.5, 1.0, 0.0, 0.0)),  # always A: right only when the preferred answer is A
        ("A", None, 0.0, _views(0.5, 1.0, 0.0, 0.0)),  # no verdict in order B scores 0
        ("A", None, 0.5, _views(0.75, 1.0, 0.5, 0.0)),  # ... or 0.5; a failure never counts as both-correct
        (None, None, 0.5, _views(0.5, 0.5, 0.5, 0.0)),  # no verdict at all, failures at 0.5
    ],
)
def test_item_views(a_label: str | None, b_label: str | None, failure_score: float, expected: dict) -> None:
    judged = {"A": _judged("A", a_label), "B": _judged("B", b_label)}
    assert item_views(judged, "both", "strict", failure_score) == expected


def test_position_stats_hand_computed() -> None:
    # 4 comparisons: right in both orders; wrong in both; always-A; a strict failure in order B.
    scored = [_judged("A", "A", item="1"), _judged("B", "B", item="1"),
              _judged("A", "B", item="2"), _judged("B", "A", item="2"),
              _judged("A", "A", item="3"), _judged("B", "A", item="3"),
              _judged("A", "A", item="4"), _judged("B", None, "B", item="4")]
    strict = position_stats(by_item(scored), "both", "strict", 0.0)
    assert strict["accuracy_chosen_as_A"] == 3 / 4  # items 1, 3, 4 right with the preferred answer as A
    assert strict["accuracy_chosen_as_B"] == 1 / 4  # only item 1
    assert strict["both_orders_accuracy"] == 1 / 4  # item 1
    assert strict["items_with_both_verdicts"] == 3  # item 4 has no strict verdict in order B
    assert strict["position_consistency"] == 2 / 3  # items 1 and 2 pick the same answer twice; item 3 flips
    assert strict["a_pick_rate"] == 5 / 7  # A verdicts: 1A, 2B-order, 3A, 3B-order, 4A = 5 of 7 parsed
    assert strict["a_bias"] == pytest.approx(5 / 7 - 0.5)
    lenient = position_stats(by_item(scored), "both", "lenient", 0.0)
    assert lenient["both_orders_accuracy"] == 2 / 4 and lenient["position_consistency"] == 3 / 4  # item 4 parses


def test_failure_stats_separate_modes_skips_and_truncation() -> None:
    scored = [_judged("A", "A"), _judged("B", None, "B"), _judged("A", None, None),
              ScoredJudgment("x", "A", "k", None, "skipped_overlong", Verdict(None, "skipped_overlong"),
                             Verdict(None, "skipped_overlong")),
              ScoredJudgment("y", "B", "t", "length", None, Verdict(None, "truncated"), Verdict(None, "truncated"))]
    stats = failure_stats(scored)
    assert stats["generated"] == 4 and stats["skipped"] == {"skipped_overlong": 1} and stats["truncated"] == 1
    assert stats["strict"] == {"parse_failures": 3, "parse_failure_rate": 3 / 4,
                               "reasons": {"missing": 2, "truncated": 1}}
    assert stats["lenient"]["parse_failures"] == 2


def pairwise_judgments(pairs, orders, template, model_id, sampling):  # one comparison per pair
    comparisons = [Comparison(p.id, p.id, p.conversation, p.chosen, p.rejected) for p in pairs]
    return comparison_judgments(comparisons, orders, template, model_id, sampling)


@pytest.mark.parametrize("label", ["A", "B"])
def test_a_formatted_verdict_reads_back_through_the_eval_scorer_and_the_reward(label: str) -> None:
    judgment = pairwise_judgments([make_pair("t", "q", "good", "bad", pair_id="1")], {"1": (label,)}, TEMPLATE,
                                  "m", Sampling())[0]
    (scored,) = score_judgments([judgment], {judgment.key: Outcome(f"Reasoning.\n{format_verdict(label)}", "stop")})
    assert scored.strict == scored.lenient == Verdict(label, None) and scored.correct("strict")
    assert compute_score("rewardbench", f"Reasoning.\n{format_verdict(label)}", label)["acc"] == 1.0  # the RL reward


def test_failure_score_flag() -> None:
    assert EvalConfig().failure_score == 0.0 and EvalConfig(parse_failure_score="0.5").failure_score == 0.5
    parser = session.make_parser(rewardbench.BENCHMARK, "python eval/rewardbench.py", None)
    with pytest.raises(EvalError, match="--parse-failure-score"):  # the flag's choices refuse any other value
        parser.parse_args(["--parse-failure-score", "1"])


def test_random_order_is_seeded_and_independent_of_the_item_set() -> None:
    ids = [str(i) for i in range(200)]
    full = plan_orders(ids, "random", seed=7)
    assert plan_orders(ids[::-1][:50], "random", seed=7) == {i: full[i] for i in ids[::-1][:50]}  # subset, reordered
    assert full == plan_orders(ids, "random", seed=7)
    assert full != plan_orders(ids, "random", seed=8)
    share_a = sum(v == ("A",) for v in full.values()) / len(full)
    assert 0.35 < share_a < 0.65  # a fair coin per item
    assert all(random_order(i, 7) in ("A", "B") for i in ids)
    assert set(plan_orders(ids, "both", seed=7).values()) == {("A", "B")}


def test_round_robin_limit_covers_every_subset_first() -> None:
    items = [Item(str(i), s) for i, s in enumerate(["math-prm"] * 5 + ["donotanswer"] * 2 + ["alpacaeval-easy"])]

    def round_robin(limit: int) -> list[str]:
        return [item.id for item in stratified(items, limit, rewardbench.BENCHMARK.section_of)]

    assert round_robin(3) == ["0", "5", "7"]  # one per subset, in dataset order
    assert round_robin(5) == ["0", "1", "5", "6", "7"]
    assert len(round_robin(100)) == 8


class _LimitedBackend(ScriptedBackend):
    """A scripted judge with a context limit, counting prompt 'tokens' as characters, rejecting one request."""

    def __init__(self, limit: int, reject_marker: str) -> None:
        super().__init__("always_a")
        self.limit, self.reject_marker = limit, reject_marker

    def context_limit(self) -> int | None:
        return self.limit

    def prompt_tokens(self, messages: Messages) -> int | None:
        return sum(len(m["content"]) for m in messages)

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        for index, request in enumerate(requests):
            self.calls += 1
            if self.reject_marker in request.messages[-1]["content"]:
                on_result(index, Generation(error="rejected by the server: HTTP 400"))
            else:
                on_result(index, Generation(format_verdict("A"), "stop"))


def test_runner_dedups_skips_overlong_and_counts_rejections(tmp_path: Path) -> None:
    pairs = [make_pair("rewardbench", "short question", "yes", "no", pair_id="1"),
             make_pair("rewardbench", "short question", "yes", "no", pair_id="2"),  # same content as item 1
             make_pair("rewardbench", "x" * 5000, "yes", "no", pair_id="3"),  # too long for the context
             make_pair("rewardbench", "REJECT me", "yes", "no", pair_id="4")]
    sampling = Sampling(max_new_tokens=100)
    backend = _LimitedBackend(limit=len(TEMPLATE.system or "") + 1500, reject_marker="REJECT")
    judgments = pairwise_judgments(pairs, plan_orders([p.id for p in pairs], "both", 0), TEMPLATE,
                                   backend.model_id, sampling)
    with GenerationCache(tmp_path / "gen.jsonl") as cache:
        outcomes, stats = run_judgments(judgments, backend, cache, sampling, prompt_version="cor-v1", progress=False)
    assert (stats.judgments, stats.unique_requests) == (8, 6)  # items 1 and 2 share both requests
    assert (stats.skipped_overlong, stats.rejected, stats.generated, backend.calls) == (2, 2, 2, 4)
    scored = score_judgments(judgments, outcomes)
    assert [j.skipped for j in scored if j.item_id == "3"] == ["skipped_overlong"] * 2
    assert all(j.strict.failure == "rejected" for j in scored if j.item_id == "4")
    assert len(GenerationCache(tmp_path / "gen.jsonl")) == 2  # rejections and skips are never cached
