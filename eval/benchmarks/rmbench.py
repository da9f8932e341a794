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

Two layouts are read: the hub rows (a ``domain`` column) and the repository's per-domain files
``data/{chat,code,math,safety-refuse,safety-response}_filtered.json`` (or the folder holding them;
no ``domain`` column: the domain is the file, and ``total_dataset.json`` beside them is not read). Ids
repeat across those files, so an item id is ``<domain>:<id>`` in both layouts.

Upstream RM-R1 filled three cells of its matrix from the wrong comparisons (:data:`NOTES`);
:func:`upstream_mixup` rebuilds that matrix from the same judgments so reports can say how far
upstream's published hard/easy numbers would move on this run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.benchmark_prompts import identity
from eval.benchmark import Benchmark, Comparison, Item, Official, ViewInput, make_comparison
from eval.benchmarks.comparisons import mean, mean_or_none, overall_mean, section_means
from eval.benchmarks.fields import every_row, label_field, object_row, row_id, text_field
from eval.benchmarks.sources import checked_sha256, file_rows, row_items
from eval.errors import EvalError
from eval.plots import pyplot, save
from eval.report_text import headline_scores, pct, table
from infra.run_metadata import InputRef

IDENTITY = identity("rmbench")  # name, hub id, revision, split: the one table in data_prep.benchmark_prompts
NAME, HUB_NAME, SPLIT, REVISION = IDENTITY.name, str(IDENTITY.hub), IDENTITY.split, IDENTITY.revision
COLUMNS = ("id", "prompt", "chosen", "rejected")  # + domain in the hub rows (the file names it in the repository's)
SIZE = 3
STYLES: tuple[str, ...] = ("concise", "detailed plain", "detailed markdown")
DOMAIN_OF: dict[str, str] = {"chat": "chat", "math": "math", "code": "code",
                             "safety-refuse": "safety", "safety-response": "safety"}
DOMAINS: tuple[str, ...] = ("chat", "math", "code", "safety")
SECTIONS = {d: (d,) for d in DOMAINS}  # each domain is its own section
section_scores = section_means(SECTIONS)
OFFICIAL = Official({SPLIT: {"chat": 129, "code": 228, "math": 529, "safety-refuse": 284, "safety-response": 157}},
                    lambda items: dict(Counter(item.payload["domain"] for item in items)))
DOMAIN_FILE = re.compile(r"^(chat|code|math|safety-refuse|safety-response)_filtered\.json$")
PARTS: tuple[str, ...] = ("hard", "normal", "easy")
# Upstream's mix-up: the cell on the left was filled from the comparison on the right.
UPSTREAM_SWAPS: dict[tuple[int, int], tuple[int, int]] = {(0, 1): (0, 2), (1, 2): (1, 0), (2, 0): (2, 1)}
AVERAGE = ("mean of the 4 domain scores (chat, math, code, safety; safety pools both safety domains); a domain = "
           "the mean of its 3x3 chosen-style x rejected-style matrix; hard/normal/easy = upper triangle/diagonal/"
           "lower triangle, averaged over the 4 domains")
NOTES = ("all 9 chosen x rejected style comparisons are judged per prompt (upstream RM-R1 judged 3 rotated files and "
         "loaded the third twice, so its cells (0,1), (1,2), (2,0) hold comparisons (0,2), (1,0), (2,1): one easy "
         "comparison counted as hard; the report shows what that scorer would print from these judgments)",)


def load_items(source: str, split: str, revision: str | None) -> tuple[list[Item], InputRef]:
    """RM-Bench rows as items, from either layout; the subset is the merged domain (the row is the payload)."""
    files = domain_files(Path(source))
    if not files:
        return row_items(_item, "RM-Bench")(source, split, revision)
    read = [(file.name.removesuffix("_filtered.json"), *file_rows(file, file.name)) for file in files]
    rows = [row for _, more, _ in read for row in more]
    where = [place for _, _, places in read for place in places]
    located = [(f"RM-Bench {place}", domain) for domain, _, places in read for place in places]
    items = every_row(zip(rows, located, strict=True), lambda row, at: _item(row, *at), "RM-Bench --data has")
    names = ", ".join(f.name for f in files)
    return items, InputRef(name=f"{source} (RM-Bench repository files: {names})", revision=None,
                           sha256=checked_sha256(rows, where, "--data "))


def domain_files(path: Path) -> list[Path]:
    """The repository's per-domain files: ``path`` itself if it is one, or those below the folder ``path``."""
    if path.is_file():
        return [path] if DOMAIN_FILE.match(path.name) else []
    return sorted(p for p in path.rglob("*_filtered.json") if DOMAIN_FILE.match(p.name)) if path.is_dir() else []


def _item(row: Any, place: str, file_domain: str | None = None) -> Item:
    row = object_row(row, COLUMNS if file_domain else (*COLUMNS, "domain"), place)
    number = row_id(row, "id", place)
    domain = file_domain or label_field(row, "domain", DOMAIN_OF, f"{place} (id {number})")
    text_field(row, "prompt", f"{place} (id {number})")
    for side in ("chosen", "rejected"):
        value = row[side]
        if not isinstance(value, list) or len(value) != SIZE or not all(isinstance(v, str) for v in value):
            raise EvalError(f"{place} (id {number}) needs {SIZE} {side} texts ({', '.join(STYLES)}); fix the row.")
    return Item(f"{domain}:{number}", DOMAIN_OF[domain], {**row, "domain": domain}, place=place)


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
    """One view's overall, hard/normal/easy, per-domain matrices and what upstream's scorer would print."""
    matrices = domain_matrices(view)
    domains: dict[str, dict[str, Any]] = {d: {"matrix": m, "items": n, **triangle_scores(m)}
                                          for d, (m, n) in matrices.items()}
    upstream = {d: triangle_scores(upstream_mixup(m)) for d, (m, _) in matrices.items()}
    sections = section_scores({d: v["score"] for d, v in domains.items()})
    return {
        "overall": overall_mean(sections),
        **{part: mean_or_none(domains[d][part] if d in domains else None for d in DOMAINS) for part in PARTS},
        "micro_mean": mean(view.comparison_scores.values()),
        "sections": sections,
        "subsets": {d: v["score"] for d, v in domains.items()},
        "subset_items": {d: v["items"] for d, v in domains.items()},
        "domains": domains,
        "upstream_mixup": {part: mean_or_none(upstream[d][part] if d in upstream else None for d in DOMAINS)
                           for part in (*PARTS, "score")},
    }


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: hard/normal/easy per domain, upstream's equivalent, and each domain's matrix."""
    scores = headline_scores(summary)
    rows = [(domain, d["items"], *(pct(d[k]) for k in (*PARTS, "score"))) for domain, d in scores["domains"].items()]
    lines = ["## Style matrix (hard / normal / easy)", "",
             *table(("domain", "items", *PARTS, "score (mean of 9 cells)"), rows)]
    lines.append(f"| **mean of domains** | | **{pct(scores['hard'])}** | **{pct(scores['normal'])}** | "
                 f"**{pct(scores['easy'])}** | **{pct(scores['overall'])}** |")
    up = scores["upstream_mixup"]
    lines += ["", "Upstream RM-R1's scorer filled cells (0,1), (1,2), (2,0) from comparisons (0,2), (1,0), (2,1) "
              "(one easy comparison counted as hard). From these same judgments it would print "
              f"hard {pct(up['hard'])}, "
              f"normal {pct(up['normal'])}, easy {pct(up['easy'])}, score {pct(up['score'])} (here: hard "
              f"{pct(scores['hard'])}, easy {pct(scores['easy'])}); compare with the paper's hard/easy numbers only "
              "with that in mind.", ""]
    for domain, d in scores["domains"].items():
        rows = [(style, *map(pct, row)) for style, row in zip(STYLES, d["matrix"], strict=True)]
        lines += [f"Matrix `{domain}` (rows: chosen style, columns: rejected style):", "",
                  *table(("chosen \\ rejected", *STYLES), rows), ""]
    return lines


def heatmaps(summary: Mapping[str, Any], out_dir: Path, title: str) -> list[Path]:
    """One heatmap PNG per domain, ``rmbench_<domain>.png``; none without matplotlib."""
    plt = pyplot()
    if plt is None:
        return []
    written = []
    for domain, d in headline_scores(summary)["domains"].items():
        fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=100)
        fig.subplots_adjust(left=0.3, right=0.95, top=0.85, bottom=0.25)
        ax.imshow([[100 * v for v in row] for row in d["matrix"]], vmin=0, vmax=100, cmap="viridis")
        for i, row in enumerate(d["matrix"]):
            for j, value in enumerate(row):
                ax.text(j, i, f"{100 * value:.1f}", ha="center", va="center",
                        color="black" if value > 0.6 else "white", fontsize=9)
        ax.set_xticks(range(3), [s.replace(" ", "\n") for s in STYLES], fontsize=8)
        ax.set_yticks(range(3), list(STYLES), fontsize=8)
        ax.set_xlabel("rejected style", fontsize=8)
        ax.set_ylabel("chosen style", fontsize=8)
        ax.set_title(f"{title}\n{domain}: hard {pct(d['hard'])}, normal {pct(d['normal'])}, easy {pct(d['easy'])}",
                     fontsize=8)
        written.append(save(plt, fig, out_dir / f"rmbench_{domain}.png"))
    return written


BENCHMARK = Benchmark(name=NAME, tool="eval.rmbench", load=load_items, expand=expand, aggregate=aggregate,
                      sections=SECTIONS, conventions=AVERAGE, section_scores=section_scores,
                      overall_score=overall_mean, data_default=HUB_NAME, split=SPLIT, revision=REVISION,
                      score_label="score (mean of 4 domains)", notes=NOTES, report_lines=report_lines, plots=heatmaps,
                      official=OFFICIAL)
