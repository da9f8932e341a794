"""RM-Bench's extra report parts: the hard/normal/easy table, each domain's style matrix, upstream's numbers, heatmaps.

Read from the summary alone (the headline view under the headline parse mode), so a report can be
re-rendered from summary.json. Heatmaps are one PNG per domain (matplotlib, Agg; no timestamp, so
identical summaries give identical files).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.report_text import pct
from infra.atomic_files import atomic_path

STYLES = ("concise", "detailed plain", "detailed markdown")
PARTS = ("hard", "normal", "easy")


def headline_scores(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    """The aggregate of the headline view under the headline parse mode."""
    conv = summary["conventions"]
    return summary["scores"][conv["parse_mode"]][conv["headline_view"]]


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: hard/normal/easy per domain, upstream's equivalent, and each domain's matrix."""
    scores = headline_scores(summary)
    lines = ["## Style matrix (hard / normal / easy)", "",
             "| domain | items | hard | normal | easy | score (mean of 9 cells) |", "|---|---:|---:|---:|---:|---:|"]
    for domain, d in scores["domains"].items():
        lines.append(f"| {domain} | {d['items']} | {pct(d['hard'])} | {pct(d['normal'])} | {pct(d['easy'])} | "
                     f"{pct(d['score'])} |")
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
        lines += [f"Matrix `{domain}` (rows: chosen style, columns: rejected style):", "",
                  "| chosen \\ rejected | " + " | ".join(STYLES) + " |", "|---|---:|---:|---:|"]
        lines += [f"| {STYLES[i]} | " + " | ".join(pct(v) for v in row) + " |" for i, row in enumerate(d["matrix"])]
        lines.append("")
    return lines


def heatmaps(summary: Mapping[str, Any], out_dir: Path, title: str) -> list[Path]:
    """One heatmap PNG per domain, ``rmbench_<domain>.png``; none without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
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
        target = out_dir / f"rmbench_{domain}.png"
        with atomic_path(target, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
        plt.close(fig)
        written.append(target)
    return written
