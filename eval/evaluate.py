"""One benchmark evaluation end to end, benchmark-agnostic: expand, plan orders, run, parse, aggregate.

A :class:`eval.benchmark.Benchmark` supplies its items, the comparisons each expands to, and its
official aggregation; everything else (orders, cache, backends, parsing, position statistics,
failure rates) is shared. Scores are computed under both parse modes; the configured ``parse_mode``
picks the headline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from data_prep.pairs import is_single_turn
from data_prep.prompts import PromptTemplate
from eval.aggregate import VIEWS, by_item, failure_stats, item_views, position_stats
from eval.backends.base import Backend, Sampling
from eval.benchmark import Benchmark, BenchmarkData, Comparison, ViewInput
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.runner import RunStats, comparison_judgments, run_judgments
from eval.scoring import FAILURE_SCORES, ScoredJudgment, score_judgments
from eval.voted import collapse, plan_orders, sample_judgments
from reward_fns.verdict import MODES

Scores = dict[str, dict[str, float]]  # mode -> view -> score


@dataclass(frozen=True)
class EvalConfig:
    """The conventions of one run; all of them are printed in the report."""

    order: str = "both"
    seed: int = 0
    parse_mode: str = "strict"
    parse_failure_score: str = "0"
    sampling: Sampling = field(default_factory=Sampling)
    request_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. chat_template_kwargs
    progress: bool = True
    votes: int = 1  # sampled judgments per comparison, voted per order (eval/voted.py)

    @property
    def failure_score(self) -> float:
        return FAILURE_SCORES[self.parse_failure_score]

    @property
    def headline_view(self) -> str:
        return VIEWS[self.order][0]


@dataclass
class PairwiseResult:
    """Everything a report needs."""

    scored: list[ScoredJudgment]
    comparisons: dict[str, dict[str, ScoredJudgment]]  # comparison id -> order tag -> judgment
    comparison_scores: dict[str, Scores]
    item_comparisons: dict[str, list[Comparison]]  # item id -> its comparisons, in expansion order
    item_scores: dict[str, Scores]
    scores: dict[str, dict[str, dict[str, Any]]]  # mode -> view -> aggregate
    position: dict[str, dict[str, Any]]  # mode -> position statistics
    failures: dict[str, Any]
    stats: RunStats

    def headline(self, config: EvalConfig) -> Any:
        return self.scores[config.parse_mode][config.headline_view]["overall"]


def expand_items(benchmark: Benchmark, data: BenchmarkData) -> dict[str, list[Comparison]]:
    """Every item's comparisons; comparison ids must be unique across the benchmark."""
    out: dict[str, list[Comparison]] = {}
    seen: set[str] = set()
    for item in data.items:
        comparisons = list(benchmark.comparisons(data, item))
        if not comparisons:
            raise EvalError(f"{benchmark.name} item {item.id!r} expands to no comparison; fix its row.")
        for comparison in comparisons:
            if comparison.comparison_id in seen:
                raise EvalError(f"{benchmark.name} has the comparison id {comparison.comparison_id!r} twice; "
                                "comparison ids must be unique.")
            seen.add(comparison.comparison_id)
        out[item.id] = comparisons
    return out


def check_prompt(benchmark: Benchmark, data: BenchmarkData, template: PromptTemplate) -> None:
    """Refuse, before any folder or request, items the prompt cannot show (multi-turn pairs without user_multi)."""
    if template.user_multi is not None:
        return
    for item in data.items:
        for comparison in benchmark.comparisons(data, item):
            if not is_single_turn(comparison.conversation, comparison.answer_1, comparison.answer_2):
                where = item.place or f"{benchmark.name} item {item.id!r}"
                raise EvalError(f"{where} is a multi-turn pair, but the prompt template {template.origin} has no "
                                "user_multi section; add one (eval/released_template.py writes it from a multi-turn "
                                "row) or leave such pairs out.")


def evaluate(benchmark: Benchmark, data: BenchmarkData, template: PromptTemplate, backend: Backend,
             cache: GenerationCache, config: EvalConfig) -> PairwiseResult:
    """Judge every comparison in the configured orders (cached generations reused) and aggregate."""
    failure_score = config.failure_score
    per_item = expand_items(benchmark, data)
    flat = [c for comparisons in per_item.values() for c in comparisons]
    if config.votes > 1:
        judgments = sample_judgments(flat, config.order, config.votes, config.seed, template, backend.model_id,
                                     config.sampling, config.request_options)
    else:
        orders = plan_orders((c.comparison_id for c in flat), config.order, config.seed)
        judgments = comparison_judgments(flat, orders, template, backend.model_id, config.sampling,
                                         config.request_options)
    outcomes, stats = run_judgments(judgments, backend, cache, config.sampling, prompt_version=template.version,
                                    progress=config.progress, benchmark=benchmark.name)
    scored = score_judgments(judgments, outcomes)
    verdicts = by_item(collapse(scored) if config.votes > 1 else scored)  # every sample's failures stay counted
    comparison_scores: dict[str, Scores] = {cid: {mode: item_views(judged, config.order, mode, failure_score)
                                                  for mode in MODES} for cid, judged in verdicts.items()}
    views = VIEWS[config.order]
    item_scores: dict[str, Scores] = {
        item_id: {mode: {view: _item_score(benchmark, view, mode, comparisons, comparison_scores, verdicts)
                         for view in views} for mode in MODES} for item_id, comparisons in per_item.items()}
    by_id = {c.comparison_id: c for c in flat}
    subset_of = {item.id: item.subset for item in data.items}

    def view_input(mode: str, view: str) -> ViewInput:
        subsets: dict[str, list[float]] = {}  # subset -> its item scores, in dataset order
        for item_id, modes in item_scores.items():
            subsets.setdefault(subset_of[item_id], []).append(modes[mode][view])
        return ViewInput(mode, view, subsets, {i: m[mode][view] for i, m in item_scores.items()},
                         {c: m[mode][view] for c, m in comparison_scores.items()}, by_id, verdicts)

    scores: dict[str, dict[str, dict[str, Any]]] = {
        mode: {view: benchmark.aggregate(view_input(mode, view)) for view in views} for mode in MODES}
    position: dict[str, dict[str, Any]] = {mode: position_stats(verdicts, config.order, mode, failure_score)
                                           for mode in MODES}
    return PairwiseResult(scored, verdicts, comparison_scores, per_item, item_scores, scores, position,
                          failure_stats(scored), stats)


def _item_score(benchmark: Benchmark, view: str, mode: str, comparisons: list[Comparison],
                comparison_scores: Mapping[str, Scores], verdicts: Mapping[str, Mapping[str, ScoredJudgment]]) -> float:
    """An item's score: the benchmark's item_rule (verdicts) if it has one, else item_score (comparison scores)."""
    scores = [comparison_scores[c.comparison_id][mode][view] for c in comparisons]
    if benchmark.item_rule is not None:
        return benchmark.item_rule(view, mode, comparisons, scores, [verdicts[c.comparison_id] for c in comparisons])
    return benchmark.item_score(view, scores)
