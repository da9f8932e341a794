"""The combined report of ``eval/run_all.py``: one table over every benchmark, and every convention stated.

Built from each benchmark's own summary.json (the per-benchmark reports stay beside it), so the
combined numbers are exactly the ones each report prints. Columns: the benchmark's headline score,
both-order accuracy (right in both orders), position consistency (same answer picked in both
orders, among comparisons with a verdict in both), parse failures (headline parse mode, over
generated judgments) and judgments that hit the generation budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval.report_text import VIEW_TITLES, pct, shard_text, table
from eval.summary import BenchmarkRow, CombinedSummary, Summary

COLUMNS = ("benchmark", "score", "both-order accuracy", "position consistency", "parse failures",
           "hit the budget", "judgments")


def benchmark_row(summary: Summary) -> BenchmarkRow:
    """One benchmark's numbers for the combined table (fractions; None where not defined)."""
    conv = summary["conventions"]
    mode = conv["parse_mode"]
    position, failures = summary["position"][mode], summary["failures"]
    return {
        "benchmark": summary["benchmark"],
        "score": summary["score"],
        "complete": summary["complete"],
        "coverage": summary["coverage"],  # scored/official rows, skipped and degenerate rows
        "parse_failure_rule": conv["parse_failure_rule"],  # a benchmark's own rule (JudgeBench's net, BoN)
        "shard": summary["shard"],
        "both_orders_accuracy": position["both_orders_accuracy"],
        "position_consistency": position["position_consistency"],
        "parse_failures": failures[mode]["parse_failures"],
        "parse_failure_rate": failures[mode]["parse_failure_rate"],
        "hit_budget": failures["truncated"],
        "judgments": failures["judgments"],
        "not_generated": sum(failures["skipped"].values()),
        "average": conv["average"],
        "notes": conv.get("notes", []),
    }


def combined_summary(summaries: Sequence[Summary], skipped: Mapping[str, str], *, budget_source: str, cache: str,
                     generated: int, reused: int) -> CombinedSummary:
    """Per-benchmark rows, the conventions every benchmark shares (one judge, prompt, sampling and cache),
    what was skipped, and a single run's metadata over every benchmark's input (each with its rows' hash)."""
    meta, conv = summaries[0]["metadata"], summaries[0]["conventions"]
    config = meta["config"]
    shared = {"model": meta["model"], "backend": config["backend"].get("backend"), "prompt": config["prompt"]["name"],
              "prompt_source": config["prompt"]["source"], "prompt_version": meta["prompt_version"],
              "order": conv["order"], "seed": meta["seed"], "headline_view": conv["headline_view"],
              "parse_mode": conv["parse_mode"], "parse_failure_rule": conv["parse_failure_rule"],
              "sampling": meta["sampling"], "budget_source": budget_source, "cache": cache, "generated": generated,
              "reused": reused, "limit": conv["limit"], "shard": summaries[0]["shard"], "votes": conv.get("votes", 1)}
    metadata = {**meta, "tool": "eval.run_all", "inputs": [s["metadata"]["inputs"][0] for s in summaries],
                "config": {**config, "cache": cache}, "counts": {s["benchmark"]: s["metadata"]["counts"]
                                                                 for s in summaries},
                "outputs": [], "volatile": {**meta["volatile"], "generated": generated, "cache_hits": reused}}
    return {"benchmarks": {s["benchmark"]: benchmark_row(s) for s in summaries}, "conventions": shared,
            "skipped": dict(skipped), "metadata": metadata}


def render(summary: CombinedSummary) -> str:
    """The combined markdown report."""
    conv = summary["conventions"]
    rows = []
    for row in summary["benchmarks"].values():
        shard = shard_text(row)
        partial = "" if row["complete"] else _partial(row["coverage"])
        rows.append([f"[{row['benchmark']}]({row['benchmark']}/report.md)",
                     pct(row["score"]) + (f" ({shard} only)" if shard else partial), pct(row["both_orders_accuracy"]),
                     pct(row["position_consistency"]), f"{row['parse_failures']} ({pct(row['parse_failure_rate'])}%)",
                     row["hit_budget"], row["judgments"]])
    lines = [f"# All benchmarks: {conv['model']}", "", *table(COLUMNS, rows)]
    lines += ["", "Scores are percentages. Each benchmark's score is its own official average:", ""]
    for row in summary["benchmarks"].values():
        lines.append(f"- **{row['benchmark']}**: {row['average']}")
        lines += [f"  - {note}" for note in [row["parse_failure_rule"], *row["notes"]] if note]
    lines += ["", "## Conventions (shared by every benchmark above)", ""] + _convention_lines(conv)
    if summary["skipped"]:
        lines += ["", "## Not run", ""] + [f"- {name}: {why}" for name, why in summary["skipped"].items()]
    return "\n".join(lines) + "\n"


def _partial(cov: Mapping[str, Any] | None) -> str:
    if cov is None:
        return " (incomplete)"
    official = "?" if cov["official"] is None else f"{cov['official']:,}"
    return f" (incomplete: {cov['scored']:,} of {official} official rows)"


def _convention_lines(conv: Mapping[str, Any]) -> list[str]:
    order = conv["order"] + (f" (seed {conv['seed']})" if conv["order"] == "random" else "")
    return [
        f"- model: `{conv['model']}`; backend: {conv['backend']}",
        f"- prompt: {conv['prompt']} (from {conv['prompt_source']}), version {conv['prompt_version']}",
        f"- order: {order}; headline view: {VIEW_TITLES[conv['headline_view']]} (each benchmark's both-order rule is "
        "stated with its average above)" + (f"; {conv['votes']} sampled votes per comparison, voted per order"
                                            if conv["votes"] > 1 else ""),
        f"- parse: {conv['parse_mode']} for the scores; {conv['parse_failure_rule']}",
        f"- sampling: temperature {conv['sampling']['temperature']}, top-p {conv['sampling']['top_p']}, seed "
        f"{conv['seed']}; generation budget {conv['sampling']['max_new_tokens']} new tokens ({conv['budget_source']}); "
        "'hit the budget' counts judgments cut at that limit (finish reason 'length')",
        f"- one generation cache for every benchmark ({conv['cache']}): identical prompts are generated once; "
        f"this run generated {conv['generated']} and reused {conv['reused']} cached judgments",
        f"- --limit: {conv['limit']}" if conv["limit"] else "- every item of every benchmark was judged",
    ] + ([f"- {shard_text(conv)} only: no score above is a benchmark score until the shards are merged"]
         if shard_text(conv) else [])
