"""The Benchmark seam: one object holds everything the runner, the cache, the reports and the CLIs need.

A benchmark is a loader, the pairwise comparisons each item expands to, and an aggregation. The
shared code does the rest: seeded A/B orders, rendering through the prompt module, the resumable
cache, verdict parsing in both modes, per-comparison view scores, position and failure statistics,
items.jsonl / summary.json / report.md / plots, ``--limit`` stratified by section, and the CLI flags.

How to add a benchmark (``eval/benchmarks/<name>.py`` plus ``eval/<name>.py``):

1. ``load(source, split, revision) -> (list[Item], InputRef)``: rows to items, and the input reference. Read rows with
   :func:`eval.benchmarks.sources.load_located` (hub name or local file; it returns each row with a
   location such as ``line 7 of x.jsonl`` for error messages, and the InputRef) and raise :class:`eval.errors.EvalError`
   naming that location for a bad row. An :class:`Item` is one scored unit: its id (unique), its
   ``subset`` (the finest group the aggregation reports), the parsed row as ``payload`` and its
   ``place`` (``RM-Bench line 7 of x.jsonl``). Check ids and labels with :mod:`eval.benchmarks.fields`.
   ``load_data`` expands every item once, so a row no judge could read is refused, naming its place,
   before any folder is made or request sent.
2. ``expand(item) -> list[Comparison]``: the judge requests the item needs. A :class:`Comparison`
   shows one conversation and two answers; ``truth`` says which of the two is better (build it with
   :func:`make_comparison` from strings or message lists, checked as training pairs are). Comparison ids
   are unique across the benchmark (e.g. ``f"{item.id}:c{i}-r{j}"``); an item that is one comparison
   reuses the item id (the seeded random order is drawn from the comparison id). Put what the
   aggregation needs to tell comparisons apart (style indices, the loser's index) into ``metadata``.
   For voting, expand to the same comparison several times with ``sample`` 0, 1, 2, ...: each sample
   is its own cache entry and its own per-request seed.
3. ``aggregate(view: ViewInput) -> dict``: the official score under one parse mode and one view
   (``mean_of_orders``, ``chosen_as_A``, ``chosen_as_B``, ``both_correct`` or ``random_order``). It
   returns at least ``overall`` (the headline, None when incomplete), ``sections`` ({section: score}),
   ``subsets`` ({subset: score}), ``subset_items`` ({subset: number of items}) and ``micro_mean`` (or
   None); extra keys (an RM-Bench style matrix) go into summary.json as they are. ``ViewInput`` holds
   each subset's item scores (an item's comparison scores combined by ``item_score``: the mean by
   default, ``min`` for "must win every comparison"; ``item_rule`` instead when the rule needs the
   verdicts, e.g. a net over orders), every comparison's score, and every comparison's parsed verdicts
   per order, so best-of-N, matrices, voting and robustness rules can all be written.
4. ``section_scores`` and ``overall_score`` (subset means -> section scores -> headline) serve the
   paired bootstrap of ``eval/compare.py``; ``report_lines`` and ``plots`` add benchmark-specific
   markdown and PNGs.
5. The module defines ``BENCHMARK = Benchmark(...)`` (``eval/compare.py`` finds it by the benchmark's
   name), and the CLI is ``eval/rewardbench.py`` with the names changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any

from eval.comparison import TRUTHS, Comparison, make_comparison
from eval.errors import EvalError, refused
from eval.scoring import ScoredJudgment
from infra.run_metadata import InputRef

__all__ = ["TRUTHS", "Benchmark", "BenchmarkData", "Comparison", "Item", "Official", "ViewInput", "make_comparison",
           "mean_item_score", "stratified", "subset_census"]

@dataclass(frozen=True)
class Item:
    """One scored unit of a benchmark: ``subset`` is the finest group its aggregation reports."""

    id: str
    subset: str
    payload: Any = None
    place: str = ""  # where the row came from (``RM-Bench line 7 of x.jsonl``), for error messages


@dataclass(frozen=True)
class BenchmarkData:
    """The items to judge (after ``--limit``), the input reference for the report, the count before the limit.

    ``skipped``: rows whose judge request cannot be rendered at all (their place and why), never judged
    and never dropped silently; ``degenerate``: item id -> why its comparisons are degenerate (judged as
    published, listed in the report); ``split``: the split read, for the official counts.
    """

    items: list[Item]
    input: InputRef
    total_items: int
    split: str = ""
    skipped: tuple[tuple[str, str], ...] = ()
    degenerate: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (benchmark name, item id) -> the item's comparisons, as load_data expanded them (a derived benchmark
    # over the same items, such as the robustness probes, expands its own)
    expanded: Mapping[tuple[str, str], tuple[Comparison, ...]] = field(default_factory=dict)


def subset_census(items: Sequence[Item]) -> dict[str, int]:
    """Rows per subset: how a run's rows are counted against the official counts by default."""
    return dict(Counter(item.subset for item in items))


@dataclass(frozen=True)
class Official:
    """The benchmark as published: rows per group for each split (None: not published) and how a run counts its rows."""

    counts: Mapping[str, Mapping[str, int | None]]  # split -> group -> official rows
    census: Callable[[Sequence[Item]], dict[str, int]] = subset_census  # a run's rows per group


@dataclass(frozen=True)
class ViewInput:
    """What an aggregation sees for one parse mode and one view."""

    mode: str
    view: str
    subset_scores: dict[str, list[float]]  # subset -> item scores, in dataset order
    item_scores: dict[str, float]  # item id -> score
    comparison_scores: dict[str, float]  # comparison id -> score
    comparisons: Mapping[str, Comparison]  # comparison id -> comparison
    verdicts: Mapping[str, Mapping[str, ScoredJudgment]]  # comparison id -> order tag -> parsed judgment


Loader = Callable[[str, str, "str | None"], tuple[list[Item], InputRef]]
Expander = Callable[[Item], Sequence[Comparison]]
Aggregation = Callable[[ViewInput], dict[str, Any]]
ItemScore = Callable[[str, Sequence[float]], float]  # (view, the item's comparison scores) -> item score
# (view, parse mode, the item's comparisons, their scores, their judgments per order tag) -> item score
ItemRule = Callable[[str, str, Sequence[Comparison], Sequence[float], Sequence[Mapping[str, ScoredJudgment]]], float]
SectionScores = Callable[[Mapping[str, Any]], dict[str, Any]]
OverallScore = Callable[[Mapping[str, Any]], Any]
ReportLines = Callable[[Mapping[str, Any]], list[str]]
Plots = Callable[[Mapping[str, Any], Path, str], list[Path]]


def mean_item_score(view: str, scores: Sequence[float]) -> float:
    """The default item score: the mean of its comparisons' scores."""
    return sum(scores) / len(scores)


@dataclass(frozen=True)
class Benchmark:
    """A benchmark as the shared runner, reports and CLIs use it (see the module docstring)."""

    name: str  # summary["benchmark"], the default --out folder, the module name under eval/benchmarks/
    tool: str  # run metadata "tool", e.g. "eval.rewardbench"
    load: Loader  # (source, split, revision) -> (items in dataset order, input reference)
    expand: Expander
    aggregate: Aggregation
    sections: Mapping[str, tuple[str, ...]]  # section -> its subsets, in report order
    conventions: str  # how the headline averages, stated in every report
    section_scores: SectionScores
    overall_score: OverallScore
    data_default: str | None = None  # default --data (None: --data is required)
    split: str = "test"
    revision: str | None = None
    item_score: ItemScore = mean_item_score
    item_rule: ItemRule | None = None  # replaces item_score when set (rules that read the verdicts)
    score_label: str = "score"  # the headline row's label in the report tables
    notes: tuple[str, ...] = ()  # further conventions (substitutes, known differences from upstream)
    view_titles: Mapping[str, str] = field(default_factory=dict)  # e.g. mean_of_orders -> "net of both orders"
    report_lines: ReportLines | None = None
    plots: Plots | None = None
    official: Official = Official({})  # the published row counts a complete run must match
    # how a judgment without a verdict counts ({score}, {flag}: --parse-failure-score), stated in every report
    failure_rule: str = "no verdict scores {score} ({flag})"
    micro_label: str = "micro mean (all comparisons; not the score)"  # what the summary's micro_mean averages

    def section_of(self, subset: str) -> str:
        """The section a subset belongs to (a subset outside the table is its own section)."""
        return next((section for section, subsets in self.sections.items() if subset in subsets), subset)

    def failure_text(self, score: float, flag: str) -> str:
        """How a judgment without a verdict counts in this benchmark's score, under ``--parse-failure-score``."""
        return self.failure_rule.format(score=f"{score:g}", flag=flag)

    def load_data(self, source: str | None, split: str | None, revision: str | None,
                  limit: int | None = None) -> BenchmarkData:
        """Load the items, check their ids are unique, and apply ``--limit`` stratified by section."""
        if source is None:
            raise EvalError(f"{self.name} needs --data; pass the benchmark's local file or folder.")
        split = split or self.split
        loaded, ref = self.load(source, split, revision)
        counts = Counter(item.id for item in loaded)
        refused([f"the id {i!r} {'twice' if n == 2 else f'{n} times'}" for i, n in counts.items() if n > 1],
                f"--data {source!r} has", "ids must be unique")
        items, skipped, degenerate, expanded = [], [], {}, {}
        for item in loaded:  # every row, whatever --limit keeps: a row no judge could read is named now
            where = item.place or f"{self.name} item {item.id!r}"
            try:
                comparisons = list(self.expand(item))
            except EvalError as err:
                skipped.append((where, str(err)))
                continue
            if not comparisons:
                skipped.append((where, "expands to no comparison"))
                continue
            items.append(item)
            expanded[self.name, item.id] = tuple(comparisons)  # expanded once per run: the runner and checks reuse them
            reasons = sorted({reason for c in comparisons for reason in c.degenerate})
            if reasons:
                degenerate[item.id] = tuple(reasons)
        chosen = stratified(items, limit, self.section_of)
        return BenchmarkData(chosen, ref, len(items), split, tuple(skipped), degenerate, expanded)

    def comparisons(self, data: BenchmarkData, item: Item) -> Sequence[Comparison]:
        """``item``'s comparisons: as :meth:`load_data` expanded them, else expanded now (hand-built data)."""
        found = data.expanded.get((self.name, item.id))
        return found if found is not None else self.expand(item)


def stratified(items: Sequence[Item], limit: int | None, section_of: Callable[[str], str]) -> list[Item]:
    """The first ``limit`` items taken one section at a time in turn, and within a section one subset at a time.

    Sections first, so a small limit still covers every section (and yields a headline score); the
    kept items stay in dataset order.
    """
    if limit is None:
        return list(items)
    sections: dict[str, dict[str, list[Item]]] = {}
    for item in items:
        sections.setdefault(section_of(item.subset), {}).setdefault(item.subset, []).append(item)
    turns = _in_turn([_in_turn(list(subsets.values())) for subsets in sections.values()])
    chosen = {item.id for item in islice(turns, limit)}
    return [item for item in items if item.id in chosen]


def _in_turn(queues: Sequence[Iterable[Item]]) -> Iterator[Item]:
    """One item from each queue in turn, skipping the queues that ran dry."""
    return (item for turn in zip_longest(*queues) for item in turn if item is not None)
