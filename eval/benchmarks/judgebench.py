"""JudgeBench: hard response pairs (one objectively correct answer), judged in both orders.

Rows (``ScalerLab/JudgeBench``, splits ``gpt`` 350 and ``claude`` 270): ``pair_id``, ``original_id``,
``source``, ``question``, ``response_model``, ``response_A``, ``response_B``, ``label`` (``A>B`` or ``B>A``).

Official rule with both orders: each order's decision counts +1 if right, -1 if wrong and 0 without a
verdict; a pair is correct iff the net is > 0. So a judge that flips with the order (right once, wrong
once) scores 0 for that pair, and one right answer plus one parse failure scores 1. That rule is this
benchmark's ``mean_of_orders`` view; the per-order views count one order alone. With ``--order random``
one seeded order is judged (the official single-order mode judges the dataset's own order).
Accuracy is the micro mean over pairs, overall and per source prefix (mmlu-pro, livebench-reasoning,
livebench-math, livecodebench) and per full source. Every pair sits in one subset and section
(``pairs`` / ``all pairs``), so the paired bootstrap of eval/compare.py resamples the micro mean
exactly; the prefixes are reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from data_prep.benchmark_prompts import identity
from eval.benchmark import Benchmark, Comparison, Item, Official, ViewInput, make_comparison
from eval.benchmarks.comparisons import Picks, all_picks, grouped, mean, order_rule, overall_mean, section_means
from eval.benchmarks.fields import label_field, object_row, row_id, text_field
from eval.benchmarks.sources import row_items
from eval.report_text import headline_scores, pct, table
from eval.scoring import ScoredJudgment

IDENTITY = identity("judgebench")  # name, hub id, revision, split: the one table in data_prep.benchmark_prompts
NAME, HUB_NAME, SPLIT, REVISION = IDENTITY.name, str(IDENTITY.hub), IDENTITY.split, IDENTITY.revision
COLUMNS = ("pair_id", "source", "question", "response_A", "response_B", "label")
LABELS = ("A>B", "B>A")
PREFIXES: tuple[str, ...] = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")
SUBSET = "pairs"
# The repository's files are data/dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl (split gpt) and
# ...response_model=claude-3-5-sonnet-20240620.jsonl (split claude): a --data folder holding both reads --split's.
OFFICIAL = Official({"gpt": {SUBSET: 350}, "claude": {SUBSET: 270}}, lambda items: {SUBSET: len(items)})
FAILURE_RULE = ("a judgment without a verdict counts 0 in the net of both orders (+1 right, -1 wrong), whatever {flag} "
                "says")
AVERAGE = ("micro accuracy over pairs; with both orders each decision counts +1 right, -1 wrong, 0 without a "
           "verdict, and a pair is correct iff the net is > 0 (the official rule)")
NOTES = ("--order random judges one seeded order per pair (the official single-order mode judges the dataset's "
         "own order)",)


def _item(row: Any, place: str) -> Item:
    """A JudgeBench row as an item (one pair; the row is the payload)."""
    row = object_row(row, COLUMNS, place)
    pair_id = row_id(row, "pair_id", place)
    label_field(row, "label", LABELS, f"{place} (pair {pair_id})")
    for column in ("source", "question", "response_A", "response_B"):
        text_field(row, column, f"{place} (pair {pair_id})")
    return Item(pair_id, SUBSET, row, place=place)


def expand(item: Item) -> list[Comparison]:
    """The pair as one comparison under its own id; the label says which response is better."""
    row, source = item.payload, str(item.payload["source"])
    prefix = next((p for p in PREFIXES if source.startswith(p)), source)  # the first official prefix, else itself
    metadata = {"source": source, "prefix": prefix, "label": row["label"],
                "original_id": row.get("original_id"), "response_model": row.get("response_model")}
    return [make_comparison(item.id, item.id, row["question"], row["response_A"], row["response_B"],
                            truth="1" if row["label"] == "A>B" else "2", metadata=metadata)]


def net_rule(judged: Sequence[Picks]) -> float:
    """1 if the pair's net over its orders is positive: +1 per order decided right, -1 per order decided wrong,
    0 per order without a verdict."""
    return float(sum(0 if p is None else (1 if p else -1) for p in judged[0].values()) > 0)


def item_rule(view: str, mode: str, comparisons: Sequence[Comparison], scores: Sequence[float],
              judged: Sequence[Mapping[str, ScoredJudgment]]) -> float:
    """A pair's score: the net rule over both orders, or the one order a per-order view looks at."""
    return order_rule(view, all_picks(judged, mode), net_rule)


def aggregate(view: ViewInput) -> dict[str, Any]:
    """Micro accuracy overall (the one section), per source prefix and per full source (the subsets)."""
    prefixes, sources = grouped(view, "prefix"), grouped(view, "source")
    every = list(view.item_scores.values())
    ordered = list(PREFIXES) + sorted(p for p in prefixes if p not in PREFIXES)
    return {
        "overall": mean(every),
        "micro_mean": mean(every),
        "sections": section_scores({SUBSET: mean(every)}),
        "prefixes": {p: mean(prefixes[p]) if prefixes.get(p) else None for p in ordered},
        "prefix_items": {p: len(prefixes[p]) for p in ordered if prefixes.get(p)},
        "subsets": {s: mean(v) for s, v in sorted(sources.items())},
        "subset_items": {s: len(v) for s, v in sorted(sources.items())},
    }


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: micro accuracy per source prefix (the headline view)."""
    scores = headline_scores(summary)
    rows = [(p, scores["prefix_items"].get(p, 0), pct(v)) for p, v in scores["prefixes"].items()]
    return ["## Source prefixes", "", *table(("prefix", "pairs", "accuracy"), rows)]


section_scores = section_means({"all pairs": (SUBSET,)})  # one subset holds every pair: the micro accuracy


BENCHMARK = Benchmark(name=NAME, tool="eval.judgebench", expand=expand, aggregate=aggregate,
                      sections={"all pairs": (SUBSET,)}, conventions=AVERAGE, section_scores=section_scores,
                      overall_score=overall_mean, data_default=HUB_NAME, split=SPLIT, revision=REVISION,
                      item_rule=item_rule, score_label="accuracy (micro, net of both orders)", notes=NOTES,
                      report_lines=report_lines, view_titles={"mean_of_orders": "net of both orders (official)"},
                      official=OFFICIAL, load=row_items(_item, "JudgeBench"), failure_rule=FAILURE_RULE)
