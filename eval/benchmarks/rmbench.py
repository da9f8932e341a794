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

from collections.abc import Mapping, Sequence
from typing import Any

from eval.benchmark import Benchmark, Comparison, Item, ViewInput, make_comparison
from eval.benchmarks.comparisons import mean, mean_or_none
from eval.benchmarks.fields import label_field, object_row, row_id
from eval.benchmarks.rmbench_report import heatmaps, report_lines
from eval.benchmarks.sources import load_located
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
PARTS: tuple[str, ...] = ("hard", "normal", "easy")
# Upstream's mix-up: the cell on the left was filled from the comparison on the right.
UPSTREAM_SWAPS: dict[tuple[int, int], tuple[int, int]] = {(0, 1): (0, 2), (1, 2): (1, 0), (2, 0): (2, 1)}
AVERAGE = ("mean of the 4 domain scores (chat, math, code, safety; safety pools both safety domains); a domain = "
           "the mean of its 3x3 chosen-style x rejected-style matrix; hard/normal/easy = upper triangle/diagonal/"
           "lower triangle, averaged over the 4 domains")
NOTES = ("all 9 chosen x rejected style comparisons are judged per prompt (upstream RM-R1 judged 3 rotated files and "
         "loaded the third twice, so its cells (0,1), (1,2), (2,0) hold comparisons (0,2), (1,0), (2,1): one easy "
         "comparison counted as hard; the report shows what that scorer would print from these judgments)",)


def load_items(source: str = HUB_NAME, split: str = SPLIT,
               revision: str | None = REVISION) -> tuple[list[Item], InputRef]:
    """RM-Bench rows as items; the subset is the merged domain (the row is the payload)."""
    rows, where, ref = load_located(source, split, revision)
    return [_item(row, place) for row, place in zip(rows, where, strict=True)], ref


def _item(row: Any, place: str) -> Item:
    row = object_row(row, COLUMNS, f"RM-Bench {place}")
    item_id = row_id(row, "id", f"RM-Bench {place}")
    domain = label_field(row, "domain", DOMAIN_OF, f"RM-Bench {place} (id {item_id})")
    for side in ("chosen", "rejected"):
        value = row[side]
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != SIZE:
            raise EvalError(f"RM-Bench {place} (id {item_id}) needs {SIZE} {side} variants "
                            f"({', '.join(STYLES)}); fix the row.")
    return Item(item_id, DOMAIN_OF[domain], row, place=f"RM-Bench {place}")


def expand(item: Item) -> list[Comparison]:
    """The 9 comparisons of chosen variant i against rejected variant j."""
    row = item.payload
    return [make_comparison(item.id, f"{item.id}:c{i}r{j}", row["prompt"], row["chosen"][i], row["rejected"][j],
                            metadata={"subset": item.subset, "domain": row["domain"], "cell": [i, j]})
            for i in range(SIZE) for j in range(SIZE)]


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


def domain_matrices(view: ViewInput) -> dict[str, tuple[list[list[float]], int]]:
    """Per domain: the 3x3 matrix of mean comparison scores under the view, and the number of items."""
    sums: dict[str, list[list[float]]] = {}
    items: dict[str, set[str]] = {}
    for comparison_id, comparison in view.comparisons.items():
        domain = comparison.metadata["subset"]
        i, j = comparison.metadata["cell"]
        grid = sums.setdefault(domain, [[0.0] * SIZE for _ in range(SIZE)])
        grid[i][j] += view.comparison_scores[comparison_id]
        items.setdefault(domain, set()).add(comparison.item_id)
    return {d: ([[cell / len(items[d]) for cell in row] for row in sums[d]], len(items[d]))
            for d in DOMAINS if d in sums}


def aggregate(view: ViewInput) -> dict[str, Any]:
    """One view's RM-Bench scores (see :func:`aggregate_matrices`)."""
    return aggregate_matrices(domain_matrices(view), mean(view.comparison_scores.values()))


def aggregate_matrices(matrices: Mapping[str, tuple[list[list[float]], int]], micro: float | None) -> dict[str, Any]:
    """Overall, hard/normal/easy, per-domain matrices and what upstream's scorer would print."""
    domains = {d: {"matrix": m, "items": n, **triangle_scores(m)} for d, (m, n) in matrices.items()}
    upstream = {d: triangle_scores(upstream_mixup(m)) for d, (m, _) in matrices.items()}
    sections = section_scores({d: v["score"] for d, v in domains.items()})
    return {
        "overall": overall_score(sections),
        **{part: mean_or_none(domains[d][part] if d in domains else None for d in DOMAINS) for part in PARTS},
        "micro_mean": micro,
        "sections": sections,
        "subsets": {d: v["score"] for d, v in domains.items()},
        "subset_items": {d: v["items"] for d, v in domains.items()},
        "domains": domains,
        "upstream_mixup": {part: mean_or_none(upstream[d][part] if d in upstream else None for d in DOMAINS)
                           for part in (*PARTS, "score")},
    }


def section_scores(subset_means: Mapping[str, Any]) -> dict[str, Any]:
    """Each domain is its own section."""
    return {d: subset_means.get(d) for d in DOMAINS}


def overall_score(sections: Mapping[str, Any]) -> Any:
    """Plain mean of the 4 domain scores; None if a domain has no judged items."""
    values = list(sections.values())
    return None if any(v is None for v in values) else sum(values) / len(values)


BENCHMARK = Benchmark(name=NAME, tool="eval.rmbench", load=load_items, expand=expand, aggregate=aggregate,
                      sections={d: (d,) for d in DOMAINS}, conventions=AVERAGE, section_scores=section_scores,
                      overall_score=overall_score, data_default=HUB_NAME, split=SPLIT, revision=REVISION,
                      score_label="score (mean of 4 domains)", notes=NOTES, report_lines=report_lines, plots=heatmaps)
