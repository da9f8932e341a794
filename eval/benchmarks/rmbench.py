"""RM-Bench: each prompt's 3 chosen x 3 rejected style variants, the 3x3 matrix per domain, hard/normal/easy.

Rows (``THU-KEG/RM-Bench``, 1,327 prompts): ``id``, ``prompt``, ``chosen`` (3 strings), ``rejected``
(3 strings), ``domain`` in {chat, code, math, safety-refuse, safety-response}. Variant order:
[concise, detailed plain, detailed markdown].

A pairwise judge needs all 9 (chosen i, rejected j) comparisons per prompt. Per domain, M[i][j] is the
mean over the domain's prompts of the score of comparison (i, j) (with both orders, the mean of the
two orders). hard = mean of the upper triangle (i < j: the chosen answer is less formatted than the
rejected one), normal = the diagonal, easy = the lower triangle. A domain's score is the mean of the 9
cells; "safety" pools the items of both safety domains; the overall score is the mean of the 4 domain
scores, and the reported hard/normal/easy are means over the 4 domains (the official definitions).

Upstream RM-R1 judged 3 rotated files of 3 comparisons each and loaded the third file twice, so its
cells (0,1), (1,2), (2,0) hold comparisons (0,2), (1,0), (2,1): one easy comparison counted as hard.
:func:`upstream_mixup` rebuilds that matrix from the same judgments so reports can say how far
upstream's published hard/easy numbers would move on this run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_prep.pairs import PairError, make_pair
from eval.benchmarks.comparisons import Comparison, Picks, accuracy_views, mean, mean_or_none, views_for
from eval.benchmarks.sources import load_rows
from eval.errors import EvalError
from infra.run_metadata import InputRef

NAME = "rmbench"
HUB_NAME = "THU-KEG/RM-Bench"
SPLIT = "train"
REVISION: str | None = None  # no pinned commit yet: the report records the rows' sha256 instead
COLUMNS = ("id", "prompt", "chosen", "rejected", "domain")
SIZE = 3
STYLES: tuple[str, ...] = ("concise", "detailed plain", "detailed markdown")
DOMAIN_OF: dict[str, str] = {"chat": "chat", "math": "math", "code": "code",
                             "safety-refuse": "safety", "safety-response": "safety"}
DOMAINS: tuple[str, ...] = ("chat", "math", "code", "safety")
# Upstream's mix-up: the cell on the left was filled from the comparison on the right.
UPSTREAM_SWAPS: dict[tuple[int, int], tuple[int, int]] = {(0, 1): (0, 2), (1, 2): (1, 0), (2, 0): (2, 1)}


@dataclass(frozen=True)
class RMBenchData:
    """The loaded benchmark: 9 comparisons per item, each comparison's cell, each item's raw domain."""

    comparisons: list[Comparison]
    cell_of: dict[str, tuple[int, int]]  # comparison id -> (chosen variant, rejected variant)
    domain_of: dict[str, str]  # item id -> raw domain (safety-refuse and safety-response kept apart)
    input: InputRef
    total_items: int

    @property
    def item_of(self) -> dict[str, str]:
        return {c.id: c.item_id for c in self.comparisons}


def load_rmbench(source: str = HUB_NAME, split: str = SPLIT, revision: str | None = REVISION,
                 limit: int | None = None) -> RMBenchData:
    """Load RM-Bench rows and expand each into its 9 comparisons; ``limit`` keeps N items round-robin by domain."""
    rows, ref = load_rows(source, split, revision)
    items = [_check_row(row, number) for number, row in enumerate(rows, 1)]
    ids = [str(row["id"]) for row in items]
    if len(set(ids)) != len(ids):
        raise EvalError(f"--data {source!r} repeats an item id; RM-Bench ids must be unique.")
    total = len(items)
    if limit is not None:
        items = round_robin(items, limit, key=lambda row: row["domain"])
    comparisons, cell_of = [], {}
    for row in items:
        for i in range(SIZE):
            for j in range(SIZE):
                comparison = _comparison(row, i, j)
                comparisons.append(comparison)
                cell_of[comparison.id] = (i, j)
    return RMBenchData(comparisons, cell_of, {str(r["id"]): r["domain"] for r in items}, ref, total)


def round_robin(rows: Sequence[Mapping[str, Any]], limit: int, key: Any) -> list[Mapping[str, Any]]:
    """The first ``limit`` rows taken one group at a time in turn (a small limit still covers every group)."""
    if limit < 1:
        raise EvalError(f"--limit {limit} must be at least 1.")
    queues: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        queues[key(row)].append(index)
    keep: set[int] = set()
    depth = 0
    while len(keep) < limit and any(depth < len(q) for q in queues.values()):
        for queue in queues.values():
            if depth < len(queue) and len(keep) < limit:
                keep.add(queue[depth])
        depth += 1
    return [row for index, row in enumerate(rows) if index in keep]


def _check_row(row: Any, number: int) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise EvalError(f"RM-Bench row {number} is a {type(row).__name__}; each row must be an object.")
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise EvalError(f"RM-Bench row {number} lacks columns {missing}; rows need {list(COLUMNS)}.")
    if row["domain"] not in DOMAIN_OF:
        raise EvalError(f"RM-Bench row {number} (id {row['id']}) has domain {row['domain']!r}; expected one of "
                        f"{sorted(DOMAIN_OF)}.")
    for side in ("chosen", "rejected"):
        value = row[side]
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != SIZE:
            raise EvalError(f"RM-Bench row {number} (id {row['id']}) needs {SIZE} {side} variants "
                            f"({', '.join(STYLES)}); fix the row.")
    return row


def _comparison(row: Mapping[str, Any], i: int, j: int) -> Comparison:
    item_id = str(row["id"])
    metadata = {"item": item_id, "domain": row["domain"], "chosen_variant": i, "rejected_variant": j}
    try:
        pair = make_pair(NAME, row["prompt"], row["chosen"][i], row["rejected"][j], pair_id=f"{item_id}:c{i}r{j}",
                         metadata=metadata)
    except PairError as err:
        raise EvalError(f"RM-Bench item {item_id} (chosen {i}, rejected {j}) is unusable: {err}") from err
    return Comparison(item_id, pair)


def triangle_scores(matrix: Sequence[Sequence[float]]) -> dict[str, float]:
    """hard (upper triangle), normal (diagonal), easy (lower triangle) and the mean of the 9 cells."""
    cells = [(i, j) for i in range(SIZE) for j in range(SIZE)]

    def average(chosen: list[tuple[int, int]]) -> float:
        return sum(matrix[i][j] for i, j in chosen) / len(chosen)

    return {"hard": average([(i, j) for i, j in cells if i < j]), "normal": average([(i, i) for i in range(SIZE)]),
            "easy": average([(i, j) for i, j in cells if i > j]), "score": average(cells)}


def upstream_mixup(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """The matrix upstream RM-R1's scorer would have built from the same judgments (see the module doc)."""
    out = [list(row) for row in matrix]
    for (i, j), (si, sj) in UPSTREAM_SWAPS.items():
        out[i][j] = matrix[si][sj]
    return out


def domain_matrices(picks: Mapping[str, Picks], data_cells: Mapping[str, tuple[int, int]],
                    item_of: Mapping[str, str], domain_of: Mapping[str, str], failure_score: float,
                    view: str) -> dict[str, tuple[list[list[float]], int]]:
    """Per merged domain: the 3x3 matrix of mean cell scores under ``view``, and the number of items."""
    sums: dict[str, list[list[float]]] = {}
    items: dict[str, set[str]] = defaultdict(set)
    for comparison_id, judged in picks.items():
        item = item_of[comparison_id]
        domain = DOMAIN_OF[domain_of[item]]
        i, j = data_cells[comparison_id]
        grid = sums.setdefault(domain, [[0.0] * SIZE for _ in range(SIZE)])
        grid[i][j] += accuracy_views(judged, failure_score)[view]
        items[domain].add(item)
    return {d: ([[cell / len(items[d]) for cell in row] for row in sums[d]], len(items[d]))
            for d in DOMAINS if d in sums}


def aggregate(picks: Mapping[str, Picks], cell_of: Mapping[str, tuple[int, int]], item_of: Mapping[str, str],
              domain_of: Mapping[str, str], failure_score: float) -> dict[str, dict[str, Any]]:
    """Every view's RM-Bench scores: overall, per-domain matrices, hard/normal/easy, upstream's mix-up."""
    return {view: aggregate_view(domain_matrices(picks, cell_of, item_of, domain_of, failure_score, view),
                                 _micro(picks, failure_score, view))
            for view in views_for(picks)}


def aggregate_view(matrices: Mapping[str, tuple[list[list[float]], int]], micro: float | None) -> dict[str, Any]:
    """Scores of one view from its per-domain matrices."""
    domains = {d: {"matrix": m, "items": n, **triangle_scores(m)} for d, (m, n) in matrices.items()}
    upstream = {d: triangle_scores(upstream_mixup(m)) for d, (m, _) in matrices.items()}
    every = [domains.get(d) for d in DOMAINS]
    return {
        "overall": mean_or_none(None if d is None else d["score"] for d in every),
        **{part: mean_or_none(None if d is None else d[part] for d in every) for part in ("hard", "normal", "easy")},
        "micro_mean": micro,
        "sections": {d: domains[d]["score"] if d in domains else None for d in DOMAINS},
        "domains": domains,
        "upstream_mixup": {part: mean_or_none(upstream[d][part] if d in upstream else None for d in DOMAINS)
                           for part in ("hard", "normal", "easy", "score")},
    }


def _micro(picks: Mapping[str, Picks], failure_score: float, view: str) -> float | None:
    return mean(accuracy_views(judged, failure_score)[view] for judged in picks.values())
