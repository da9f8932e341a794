"""PNG plots of a summary (matplotlib, Agg backend): per-section bars with both orders, and per-subset bars.

matplotlib is optional: without it no plot is written and the report says so (the scores do not
depend on it). Images carry no timestamp, so identical summaries give identical files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.report_text import view_titles
from infra.atomic_files import atomic_path

SECTIONS_PNG = "sections.png"
SUBSETS_PNG = "subsets.png"
_COLORS = {"chosen_as_A": "#4C72B0", "chosen_as_B": "#DD8452", "mean_of_orders": "#55A868",
           "both_correct": "#8172B3", "random_order": "#55A868"}


def write_plots(summary: Mapping[str, Any], out_dir: Path, title: str) -> tuple[list[Path], list[str]]:
    """Write the plots into ``out_dir``; returns (files written, notes for the report)."""
    plt = pyplot()
    if plt is None:
        return [], ["plots skipped: matplotlib is not installed (pip install matplotlib)"]
    conv = summary["conventions"]
    scores = summary["scores"][conv["parse_mode"]]
    views = list(scores)
    sections = {s: [scores[v]["sections"][s] for v in views] for s in scores[views[0]]["sections"]}
    sections["Score"] = [scores[v]["overall"] for v in views]
    subsets = {s: [scores[v]["subsets"].get(s) for v in views] for s in scores[views[0]]["subset_items"]}
    groups = {SECTIONS_PNG: sections, SUBSETS_PNG: subsets}
    title = f"{title} ({conv['parse_mode']} parse)"
    return [save(plt, _bars(plt, g, views, title, view_titles(conv)), out_dir / name) for name, g in groups.items()], []


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save(plt: Any, fig: Any, target: Path) -> Path:
    """Write ``fig`` to ``target`` as a PNG without a timestamp, then close it."""
    with atomic_path(target, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    return target


def _bars(plt: Any, groups: Mapping[str, list[float | None]], views: list[str], title: str,
          titles: Mapping[str, str]) -> Any:
    names = list(groups)
    width = 0.8 / len(views)
    rotate = len(names) > 6
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(names) * max(1, len(views) / 2) + 2), 4.6 if rotate else 4.0),
                           dpi=100)
    # Fixed margins instead of tight_layout, which renders every label twice to measure it.
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.3 if rotate else 0.1)
    for i, view in enumerate(views):
        xs = [j + (i - (len(views) - 1) / 2) * width for j in range(len(names))]
        ys = [100 * (groups[n][i] or 0.0) for n in names]
        ax.bar(xs, ys, width, label=titles[view], color=_COLORS.get(view))
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=35 if rotate else 0, ha="right" if rotate else "center", fontsize=8)
    ax.set_ylim(0, 114)  # headroom above 100 keeps the legend off the bars
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("accuracy (%)")
    ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", ncol=len(views), frameon=False)
    return fig
