"""One pairwise evaluation end to end, benchmark-agnostic: plan orders, run, parse, aggregate.

A benchmark supplies its pairs, each pair's subset, and ``aggregate_view`` (its official way to turn
per-subset item scores into a score); everything else (orders, cache, backends, parsing, position
statistics, failure rates) is shared. Scores are computed under both parse modes; the configured
``parse_mode`` picks the headline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate
from eval.aggregate import (
    HEADLINE_VIEW,
    VIEWS,
    by_item,
    failure_stats,
    item_views,
    position_stats,
    view_scores_by_subset,
)
from eval.backends.base import Backend, Sampling
from eval.cache import GenerationCache
from eval.orders import plan_orders
from eval.runner import RunStats, pairwise_judgments, run_judgments
from eval.scoring import ScoredJudgment, check_mode, failure_score_value, score_judgments
from reward_fns.verdict import MODES

AggregateView = Callable[[Mapping[str, Sequence[float]]], dict[str, Any]]


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

    @property
    def failure_score(self) -> float:
        return failure_score_value(self.parse_failure_score)

    @property
    def headline_view(self) -> str:
        return HEADLINE_VIEW[self.order]


@dataclass
class PairwiseResult:
    """Everything a report needs."""

    scored: list[ScoredJudgment]
    items: dict[str, dict[str, ScoredJudgment]]
    item_scores: dict[str, dict[str, dict[str, float]]]  # item -> mode -> view -> score
    scores: dict[str, dict[str, dict[str, Any]]]  # mode -> view -> aggregate
    position: dict[str, dict[str, Any]]  # mode -> position statistics
    failures: dict[str, Any]
    stats: RunStats

    def headline(self, config: EvalConfig) -> Any:
        return self.scores[config.parse_mode][config.headline_view]["overall"]


def evaluate_pairwise(
    pairs: Sequence[PreferencePair],
    subset_of: Mapping[str, str],
    aggregate_view: AggregateView,
    template: PromptTemplate,
    backend: Backend,
    cache: GenerationCache,
    config: EvalConfig,
) -> PairwiseResult:
    """Judge every pair in the configured orders (cached generations reused) and aggregate."""
    check_mode(config.parse_mode)
    failure_score = config.failure_score
    orders = plan_orders((p.id for p in pairs), config.order, config.seed)
    judgments = pairwise_judgments(pairs, orders, template, backend.model_id, config.sampling,
                                   config.request_options)
    outcomes, stats = run_judgments(judgments, backend, cache, config.sampling,
                                    prompt_version=template.version, progress=config.progress)
    scored = score_judgments(judgments, outcomes)
    items = by_item(scored)
    item_scores = {item_id: {mode: item_views(judged, config.order, mode, failure_score) for mode in MODES}
                   for item_id, judged in items.items()}
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    position: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        per_mode = {item_id: modes[mode] for item_id, modes in item_scores.items()}
        by_view = view_scores_by_subset(per_mode, subset_of, VIEWS[config.order])
        scores[mode] = {view: aggregate_view(subsets) for view, subsets in by_view.items()}
        position[mode] = position_stats(items, config.order, mode, failure_score)
    return PairwiseResult(scored, items, item_scores, scores, position, failure_stats(scored), stats)
