"""JudgeBench: hard response pairs (one objectively correct answer), judged in both orders.

Rows (``ScalerLab/JudgeBench``, splits ``gpt`` 350 and ``claude`` 270): ``pair_id``, ``original_id``,
``source``, ``question``, ``response_model``, ``response_A``, ``response_B``, ``label`` (``A>B`` or ``B>A``).

Official rule with both orders: each order's decision counts +1 if right, -1 if wrong and 0 without a
verdict; a pair is correct iff the net is > 0. So a judge that flips with the order (right once, wrong
once) scores 0 for that pair, and one right answer plus one parse failure scores 1. That rule is this
benchmark's ``mean_of_orders`` view; the per-order views count one order alone. With ``--order random``
one seeded order is judged (the official single-order mode judges the dataset's own order).
Accuracy is the micro mean over pairs, overall and per source prefix (mmlu-pro, livebench-reasoning,
livebench-math, livecodebench).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from data_prep.pairs import PairError, make_pair
from eval.benchmarks.comparisons import Comparison, Picks, mean, views_for, won_in
from eval.benchmarks.rmbench import round_robin
from eval.benchmarks.sources import load_rows
from eval.errors import EvalError
from infra.run_metadata import InputRef

NAME = "judgebench"
HUB_NAME = "ScalerLab/JudgeBench"
SPLIT = "gpt"
REVISION: str | None = None  # no pinned commit yet: the report records the rows' sha256 instead
COLUMNS = ("pair_id", "source", "question", "response_A", "response_B", "label")
LABELS = ("A>B", "B>A")
PREFIXES: tuple[str, ...] = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")


@dataclass(frozen=True)
class JudgeBenchData:
    """The loaded benchmark: one comparison per pair, each pair's source prefix and full source."""

    comparisons: list[Comparison]
    prefix_of: dict[str, str]
    source_of: dict[str, str]
    input: InputRef
    total_items: int


def prefix_of_source(source: str) -> str:
    """The reporting group of a source: the first official prefix it starts with, else the source itself."""
    return next((p for p in PREFIXES if source.startswith(p)), source)


def load_judgebench(source: str = HUB_NAME, split: str = SPLIT, revision: str | None = REVISION,
                    limit: int | None = None) -> JudgeBenchData:
    """Load JudgeBench rows as one comparison each; ``limit`` keeps N pairs round-robin by source prefix."""
    rows, ref = load_rows(source, split, revision)
    checked = [_check_row(row, number) for number, row in enumerate(rows, 1)]
    ids = [str(row["pair_id"]) for row in checked]
    if len(set(ids)) != len(ids):
        raise EvalError(f"--data {source!r} repeats a pair_id; JudgeBench pair ids must be unique.")
    total = len(checked)
    if limit is not None:
        checked = round_robin(checked, limit, key=lambda row: prefix_of_source(str(row["source"])))
    comparisons = [_comparison(row) for row in checked]
    sources = {str(r["pair_id"]): str(r["source"]) for r in checked}
    return JudgeBenchData(comparisons, {k: prefix_of_source(v) for k, v in sources.items()}, sources, ref, total)


def _check_row(row: Any, number: int) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise EvalError(f"JudgeBench row {number} is a {type(row).__name__}; each row must be an object.")
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise EvalError(f"JudgeBench row {number} lacks columns {missing}; rows need {list(COLUMNS)}.")
    if row["label"] not in LABELS:
        raise EvalError(f"JudgeBench row {number} (pair {row['pair_id']}) has label {row['label']!r}; expected "
                        f"{' or '.join(LABELS)}.")
    return row


def _comparison(row: Mapping[str, Any]) -> Comparison:
    pair_id = str(row["pair_id"])
    first = row["label"] == "A>B"
    chosen, rejected = (row["response_A"], row["response_B"]) if first else (row["response_B"], row["response_A"])
    metadata = {"item": pair_id, "source": row["source"], "original_id": row.get("original_id"),
                "label": row["label"], "response_model": row.get("response_model")}
    try:
        pair = make_pair(NAME, row["question"], chosen, rejected, pair_id=pair_id, metadata=metadata)
    except PairError as err:
        raise EvalError(f"JudgeBench pair {pair_id} is unusable: {err}") from err
    return Comparison(pair_id, pair)


def net(picks: Picks) -> int:
    """+1 per order decided right, -1 per order decided wrong, 0 per order without a verdict."""
    return sum(0 if p is None else (1 if p else -1) for p in picks.values())


def pair_scores(picks: Picks) -> dict[str, float]:
    """One pair's score in every view (``mean_of_orders`` is the official net > 0 rule)."""
    if len(picks) == 1:
        return {"random_order": float(won_in(picks))}
    return {"mean_of_orders": float(net(picks) > 0), "chosen_as_A": float(won_in(picks, "A")),
            "chosen_as_B": float(won_in(picks, "B")), "both_correct": float(won_in(picks))}


def aggregate(picks: Mapping[str, Picks], prefix_of: Mapping[str, str], source_of: Mapping[str, str]) -> dict[str, Any]:
    """Every view's JudgeBench accuracy: overall (micro), per source prefix and per source."""
    per_pair = {pair_id: pair_scores(judged) for pair_id, judged in picks.items()}
    return {view: aggregate_view(per_pair, prefix_of, source_of, view) for view in views_for(picks)}


def aggregate_view(per_pair: Mapping[str, Mapping[str, float]], prefix_of: Mapping[str, str],
                   source_of: Mapping[str, str], view: str) -> dict[str, Any]:
    """Micro accuracy overall, per prefix (the sections) and per full source (the subsets)."""
    prefixes: dict[str, list[float]] = defaultdict(list)
    sources: dict[str, list[float]] = defaultdict(list)
    for pair_id, scores in per_pair.items():
        prefixes[prefix_of[pair_id]].append(scores[view])
        sources[source_of[pair_id]].append(scores[view])
    overall = mean(scores[view] for scores in per_pair.values())
    ordered = list(PREFIXES) + sorted(p for p in prefixes if p not in PREFIXES)
    return {
        "overall": overall,
        "micro_mean": overall,
        "sections": {p: mean(prefixes[p]) if prefixes.get(p) else None for p in ordered},
        "subsets": {s: mean(v) for s, v in sorted(sources.items())},
        "subset_items": {s: len(v) for s, v in sorted(sources.items())},
    }
