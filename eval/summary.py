"""The shape of summary.json: one benchmark's (eval/report.py writes it) and run_all's combined one.

The reports, the combined report, compare and the model card read these keys; the nested blocks
(scores per parse mode and view, position and failure statistics, coverage, run metadata) are
described where they are built (eval/evaluate.py, eval/aggregate.py, eval/benchmarks/coverage.py,
infra/run_metadata.py).
"""

from __future__ import annotations

from typing import Any, TypedDict


class Summary(TypedDict):
    """One benchmark run's summary.json."""

    benchmark: str
    score: float | None  # the headline (parse mode and view in ``conventions``); None when a section is empty
    complete: bool  # the whole official set, unsharded and unlimited, with a headline score
    coverage: dict[str, Any]  # scored and official rows per group, why the run is partial
    shard: str | None  # "i/N" for one shard of N (never a benchmark score on its own)
    conventions: dict[str, Any]
    scores: dict[str, dict[str, dict[str, Any]]]  # parse mode -> view -> aggregate (overall, sections, subsets)
    position: dict[str, dict[str, Any]]  # parse mode -> position statistics
    failures: dict[str, Any]
    plots: list[str]
    notes: list[str]
    metadata: dict[str, Any]  # infra.run_metadata.RunMetadata: model, inputs with their hashes, sampling, counts


class BenchmarkRow(TypedDict):
    """One benchmark's line of the combined report."""

    benchmark: str
    score: float | None
    complete: bool
    coverage: dict[str, Any] | None
    parse_failure_rule: str | None  # a benchmark's own rule (JudgeBench's net, best-of-N)
    shard: str | None
    both_orders_accuracy: float | None
    position_consistency: float | None
    parse_failures: int
    parse_failure_rate: float | None
    hit_budget: int
    judgments: int
    not_generated: int
    average: str
    notes: list[str]


class CombinedSummary(TypedDict):
    """run_all's summary.json: a row per benchmark, the shared conventions and a single run's metadata."""

    benchmarks: dict[str, BenchmarkRow]
    conventions: dict[str, Any]
    skipped: dict[str, str]  # benchmark -> why it was not run
    metadata: dict[str, Any]  # as a single run's, with every benchmark's input (and rows sha256)
