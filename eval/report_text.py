"""The markdown report (and the short console summary) rendered from a summary dict.

Numbers are percentages with two decimals, as benchmark tables print them; the summary JSON keeps the
exact fractions. Every table says which average it shows and how parse failures were scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eval.benchmark import Benchmark
    from eval.summary import Summary

VIEW_TITLES = {
    "mean_of_orders": "mean of orders",
    "chosen_as_A": "preferred as A",
    "chosen_as_B": "preferred as B",
    "both_correct": "both orders correct",
    "random_order": "one seeded order",
}


def headline_scores(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    """The aggregate of the headline view under the headline parse mode (what a benchmark's own lines show)."""
    conv = summary["conventions"]
    return summary["scores"][conv["parse_mode"]][conv["headline_view"]]


def pct(value: Any) -> str:
    """A fraction as a percentage with two decimals; an em dash for no value."""
    return "—" if value is None else f"{100 * value:.2f}"


def signed_pct(value: Any) -> str:
    return "—" if value is None else f"{100 * value:+.2f}"


def table(head: Sequence[Any], rows: Iterable[Sequence[Any]], left: int = 1) -> list[str]:
    """Markdown table lines: the first ``left`` columns left-aligned, the others right-aligned (numbers)."""
    lines = ["| " + " | ".join(map(str, cells)) + " |" for cells in (head, *rows)]
    return [lines[0], "|" + "---|" * left + "---:|" * (len(head) - left), *lines[1:]]


def view_titles(conv: Mapping[str, Any]) -> dict[str, str]:
    """Column titles of the views, with a benchmark's own names for its rules (``conventions.view_titles``)."""
    return {**VIEW_TITLES, **conv.get("view_titles", {})}


def headline_line(summary: Summary) -> str:
    """One line: the score and the conventions it was computed under."""
    conv = summary["conventions"]
    view = view_titles(conv)[conv["headline_view"]]
    return (f"score {pct(summary['score'])} ({conv['average']}; {view}; {conv['parse_mode']} parse; "
            f"{conv['parse_failure_rule']}){status_text(summary)}")


def status_text(summary: Mapping[str, Any]) -> str:
    """`` — COMPLETE: N of N official rows`` or `` — INCOMPLETE (partial: N of M official rows scored; ...)``."""
    shard = shard_text(summary)
    if shard:
        return f" — {shard.upper()} ONLY (not the benchmark score: merge every shard's cache and re-score)"
    cov = summary["coverage"]
    official = "an unknown number of" if cov["official"] is None else _count(cov["official"])
    counted = f"{cov['scored']:,} of {official} official rows scored"
    if summary["complete"]:
        return f" — COMPLETE ({counted}; split {cov['split']})"
    why = cov["partial"][:4] + ([f"{len(cov['partial']) - 4} more"] if len(cov["partial"]) > 4 else [])
    why = why or ["a section has no judged items"]
    return f" — INCOMPLETE (partial: {counted}; {', '.join(why)}; not comparable with published scores)"


def shard_text(summary: Mapping[str, Any]) -> str:
    """``shard 2 of 4`` for a summary of one shard of several, else ""."""
    index, _, count = str(summary.get("shard") or "").partition("/")
    return f"shard {index} of {count}" if count and count != "1" else ""


def coverage_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: scored against official rows per group, skipped rows, degenerate rows (count and ids)."""
    cov = summary["coverage"]
    lines = ["## Official rows", "", f"{status_text(summary).lstrip(' —')}.", "",
             *table(("group", "scored", "official"),
                    ((g, f"{c['scored']:,}", _count(c["official"])) for g, c in cov["groups"].items()))]
    skipped, degenerate = cov["skipped"], cov["degenerate"]
    lines += ["", f"- rows skipped (no judge request could be rendered; not judged, counted as missing): "
                  f"{skipped['count']}"]
    lines += [f"  - {row}" for row in skipped["rows"][:20]]
    reasons = ", ".join(f"{r} {n}" for r, n in degenerate["reasons"].items()) or "none"
    ids = ", ".join(f"`{i}`" for i in degenerate["ids"][:50])
    more = " …" if degenerate["count"] > 50 else ""
    lines.append(f"- degenerate rows, judged as published and scored by the benchmark's rule: {degenerate['count']} "
                 f"({reasons})" + (f": {ids}{more}" if ids else ""))
    return lines + [""]


def render_markdown(summary: Summary, benchmark: Benchmark) -> str:
    """The full markdown report (``benchmark`` supplies the headline label and any extra lines)."""
    meta, conv = summary["metadata"], summary["conventions"]
    mode = conv["parse_mode"]
    other = "lenient" if mode == "strict" else "strict"
    views = list(summary["scores"][mode])
    lines = [f"# {summary['benchmark']}: {meta['model']}", "", f"**{headline_line(summary)}**", ""]
    lines += _section_table(summary["scores"][mode], views, benchmark.score_label, view_titles(conv),
                            conv["micro_mean"])
    other_score = summary["scores"][other][conv["headline_view"]]["overall"]
    lines += ["", f"With the {other} parse the score would be {pct(other_score)}.", ""]
    lines += coverage_lines(summary)
    lines += _position_lines(summary["position"][mode], conv["order"])
    lines += _failure_lines(summary["failures"])
    lines += _subset_table(summary["scores"][mode], views, view_titles(conv))
    if benchmark.report_lines is not None:
        lines += ["", *benchmark.report_lines(summary)]
    lines += _run_lines(summary)
    return "\n".join(lines) + "\n"


def _section_table(scores: Mapping[str, Any], views: list[str], label: str, titles: Mapping[str, str],
                   micro: str) -> list[str]:
    rows = [[s, *(pct(scores[v]["sections"][s]) for v in views)] for s in scores[views[0]]["sections"]]
    rows.append([f"**{label}**", *(f"**{pct(scores[v]['overall'])}**" for v in views)])
    rows.append([micro, *(pct(scores[v]["micro_mean"]) for v in views)])
    return table(["section", *(titles[v] for v in views)], rows)


def _subset_table(scores: Mapping[str, Any], views: list[str], titles: Mapping[str, str]) -> list[str]:
    rows = [[subset, count, *(pct(scores[v]["subsets"].get(subset)) for v in views)]
            for subset, count in scores[views[0]]["subset_items"].items()]
    return ["", "## Subsets", "", *table(["subset", "items", *(titles[v] for v in views)], rows)]


def _position_lines(position: Mapping[str, Any], order: str) -> list[str]:
    lines = ["## Position", "",
             f"- accuracy with the preferred answer as A: {pct(position['accuracy_chosen_as_A'])} "
             f"({position['judgments_chosen_as_A']} judgments); as B: {pct(position['accuracy_chosen_as_B'])} "
             f"({position['judgments_chosen_as_B']} judgments)"]
    if order == "both":
        lines += [f"- both-orders accuracy (right in both orders): {pct(position['both_orders_accuracy'])}",
                  f"- position consistency (same answer picked in both orders): "
                  f"{pct(position['position_consistency'])} of {position['items_with_both_verdicts']} comparisons "
                  "with a verdict in both orders"]
    lines.append(f"- A-pick rate: {pct(position['a_pick_rate'])} of verdicts (A-bias {signed_pct(position['a_bias'])} "
                 "points; 0 is unbiased)")
    return lines + [""]


def _failure_lines(failures: Mapping[str, Any]) -> list[str]:
    lines = ["## Parse failures", ""]
    for mode in ("strict", "lenient"):
        stats = failures[mode]
        reasons = ", ".join(f"{k} {v}" for k, v in stats["reasons"].items()) or "none"
        lines.append(f"- {mode}: {pct(stats['parse_failure_rate'])}% of {failures['generated']} generated judgments "
                     f"({stats['parse_failures']}; {reasons})")
    skipped = ", ".join(f"{k} {v}" for k, v in failures["skipped"].items()) or "none"
    lines.append(f"- not generated: {skipped}; truncated at the token limit: {failures['truncated']}")
    lines += [f"  - {count} × {reason}" for reason, count in failures["skip_reasons"].items()]
    return lines


def _run_lines(summary: Mapping[str, Any]) -> list[str]:
    meta = summary["metadata"]
    config, conv = meta["config"], summary["conventions"]
    data = meta["inputs"][0]
    prompt = config["prompt"]
    lines = ["", "## Run", "",
             f"- model: `{meta['model']}`; backend: {config['backend'].get('backend')}",
             f"- data: {data['name']} ({'revision ' + data['revision'] if data['revision'] else 'local'}, "
             f"rows sha256 {str(data['sha256'])[:12]}…); "
             f"{meta['counts']['items']} of {meta['counts']['total_items']} items"
             + (f" (--limit {conv['limit']})" if conv["limit"] else ""),
             f"- prompt: {prompt['name']} version {meta['prompt_version']} (from {prompt['source']}); "
             f"verdict format {meta['verdict_format_version']}",
             f"- order: {conv['order']}" + (f" (seed {conv['order_seed']})" if conv["order_seed"] is not None else "")
             + (f"; {conv['votes']} votes per comparison: {conv['vote_rule']}" if "votes" in conv else ""),
             f"- sampling: {', '.join(f'{k} {v}' for k, v in meta['sampling'].items())}",
             f"- judgments: {meta['counts']['judgments']} ({meta['counts']['unique_requests']} unique requests)",
             f"- {conv['parse_failure_rule']}; {conv['overlong']}",
             f"- code: {meta['tool']} {meta['tool_version']} at {str(meta['git_commit'])[:12]}"]
    lines += [f"- convention: {note}" for note in conv.get("notes", [])]
    lines += [f"- note: {note}" for note in summary["notes"]]
    lines += [f"- plot: ![{p}]({p})" for p in summary["plots"]]
    return lines


def console_summary(summary: Summary, out_dir: str) -> str:
    """What the CLI prints at the end: the headline, position and failure numbers, this run's work."""
    conv, vol = summary["conventions"], summary["metadata"]["volatile"]
    position = summary["position"][conv["parse_mode"]]
    failures = summary["failures"]
    lines = [f"{summary['benchmark']}: {headline_line(summary)}"]
    for section, value in headline_scores(summary)["sections"].items():
        lines.append(f"  {section:<10} {pct(value)}")
    if conv["order"] == "both":
        lines.append(f"  both-orders accuracy {pct(position['both_orders_accuracy'])}, position consistency "
                     f"{pct(position['position_consistency'])}, A-bias {signed_pct(position['a_bias'])}")
    lines.append(f"  parse failures: strict {pct(failures['strict']['parse_failure_rate'])}%, lenient "
                 f"{pct(failures['lenient']['parse_failure_rate'])}%; skipped {sum(failures['skipped'].values())}")
    lines.append(f"  this run: {vol.get('cache_hits')} cached, {vol.get('generated')} generated, "
                 f"{vol.get('backend_calls')} backend calls; reports in {out_dir}")
    return "\n".join(lines)


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"
