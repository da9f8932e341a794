"""Reports of a pairwise evaluation: per-item JSONL, summary JSON (run-metadata schema), markdown, plots.

Everything that legitimately differs between two runs of the same evaluation (time, host, cache hits,
backend calls, token usage) sits in ``metadata.volatile``; the rest of the summary is a function of
the inputs, so a resumed run and an uninterrupted one produce the same summary content hash.
Every file is written atomically (temp file + rename), and the summary last: a summary on disk always
describes complete reports beside it.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.benchmark import Benchmark, BenchmarkData
from eval.benchmarks.coverage import coverage
from eval.evaluate import EvalConfig, PairwiseResult
from eval.judge_prompt import PromptChoice
from eval.report_text import render_markdown
from eval.summary import Summary
from eval.voted import tallies
from infra.atomic_files import write_text_atomic
from infra.run_metadata import OutputRef, RunMetadata, git_commit, now_volatile
from infra.versions import tool_version, version_of
from reward_fns import VERDICT_FORMAT_VERSION

SUMMARY = "summary.json"
ITEMS = "items.jsonl"
REPORT = "report.md"
_LIBRARIES = ("torch", "transformers", "vllm", "datasets", "httpx", "matplotlib")
_VOLATILE_BACKEND_KEYS = ("usage",)


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that can change a judgment or a score (None if not installed)."""
    return {"python": platform.python_version(), **{name: version_of(name) for name in _LIBRARIES}}


@dataclass(frozen=True)
class EvalRun:
    """One run's inputs as the reports state them (everything but the result)."""

    benchmark: Benchmark
    data: BenchmarkData
    config: EvalConfig
    prompt: PromptChoice
    backend_info: Mapping[str, Any]
    model_id: str
    limit: int | None = None
    cache_path: str = "generations.jsonl"  # as recorded: relative to --out when inside it
    tool: str | None = None  # run metadata "tool"; default the benchmark's
    shard: str | None = None  # "i/N" when the run judged one shard of N (never a benchmark score alone)


def conventions(config: EvalConfig, limit: int | None, benchmark: Benchmark) -> dict[str, Any]:
    """The conventions every report states (benchmarks.md: make them explicit)."""
    flag = f"--parse-failure-score {config.parse_failure_score}"
    rule = benchmark.failure_text(config.failure_score, flag)
    out: dict[str, Any] = {
        "order": config.order,
        "order_seed": config.seed if config.order == "random" else None,
        "headline_view": config.headline_view,
        "average": benchmark.conventions,
        "micro_mean": benchmark.micro_label,
        "parse_mode": config.parse_mode,
        "parse_failure_score": config.failure_score,
        "parse_failure_rule": rule,
        "overlong": "requests whose prompt + max_new_tokens exceed the context are skipped, counted and scored "
                    "as failures; prompts are never truncated",
        "limit": limit,
    }
    if config.votes > 1:  # absent: one judgment per order (eval/leaderboard.py reads it as 1)
        out["votes"] = config.votes
        out["vote_rule"] = ("each order's samples voted: majority, a tie to the answer voted first; orders "
                            f"{'alternated from the seeded order' if config.order == 'both' else 'all the seeded one'}")
    if benchmark.notes:
        out["notes"] = list(benchmark.notes)
    if benchmark.view_titles:
        out["view_titles"] = dict(benchmark.view_titles)  # what a view means when it is a benchmark's own rule
    return out


def item_records(result: PairwiseResult, run: EvalRun) -> Iterator[str]:
    """One JSON line per item: its judgments (verdicts in both modes, why any is missing) and its scores."""
    subset_of = {item.id: item.subset for item in run.data.items}
    votes = tallies(result.scored) if run.config.votes > 1 else {}  # each sample's label and the margin
    for item_id, comparisons in result.item_comparisons.items():
        subset = subset_of[item_id]
        several = len(comparisons) > 1 or comparisons[0].comparison_id != item_id
        judgments = []
        for comparison in comparisons:
            for tag, j in sorted(result.comparisons[comparison.comparison_id].items()):
                entry: dict[str, Any] = {"order": tag, "key": j.key, "finish_reason": j.finish_reason,
                                         "skipped": j.skipped,
                                         "strict": {"label": j.strict.label, "failure": j.strict.failure},
                                         "lenient": {"label": j.lenient.label, "failure": j.lenient.failure}}
                if j.detail is not None:
                    entry["detail"] = j.detail
                if votes:
                    entry["votes"] = votes[comparison.comparison_id, tag]
                if several:
                    entry = {"comparison": comparison.comparison_id, **entry}
                judgments.append(entry)
        record: dict[str, Any] = {"id": item_id, "subset": subset, "section": run.benchmark.section_of(subset),
                                  "judgments": judgments, "scores": result.item_scores[item_id]}
        if several:
            record["comparisons"] = {c.comparison_id: result.comparison_scores[c.comparison_id] for c in comparisons}
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_reports(out_dir: str | os.PathLike[str], run: EvalRun, result: PairwiseResult, *,
                  plots: bool = True) -> Summary:
    """Write items.jsonl, the plots, report.md and summary.json into ``out_dir``; returns the summary."""
    out = Path(out_dir)
    config, benchmark = run.config, run.benchmark
    lines = list(item_records(result, run))
    write_text_atomic(out / ITEMS, "\n".join(lines) + ("\n" if lines else ""))
    cov = coverage(benchmark, run.data)  # scored against the official row counts
    headline = result.headline(config)
    whole = run.shard is None or run.shard.split("/")[1] == "1"  # one shard of several is never the benchmark
    summary: Summary = {
        "benchmark": benchmark.name,
        "score": headline,
        "complete": cov["complete"] and headline is not None and whole,  # the full official set, scored
        "coverage": cov,
        "shard": run.shard,
        "conventions": conventions(config, run.limit, benchmark),
        "scores": result.scores,
        "position": result.position,
        "failures": result.failures,
        "plots": [],
        "notes": [],
        "metadata": {},
    }
    outputs = [OutputRef.for_file(out / ITEMS, out, rows=len(lines))]
    plot_notes: list[str] = []
    if plots:
        from eval.plots import write_plots

        title = f"{benchmark.name}: {run.model_id}"
        written, plot_notes = write_plots(summary, out, title=title)
        if benchmark.plots is not None and written:
            written += benchmark.plots(summary, out, title)
        outputs += [OutputRef.for_file(p, out) for p in written]
    summary["plots"] = [o.path for o in outputs[1:]]
    summary["notes"] = plot_notes + result.stats.notes
    meta = _metadata(run, result)
    summary["metadata"] = meta.to_dict()
    write_text_atomic(out / REPORT, render_markdown(summary, benchmark))
    meta.outputs = outputs + [OutputRef.for_file(out / REPORT, out)]
    summary["metadata"] = meta.to_dict()
    write_text_atomic(out / SUMMARY, json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return summary


def _metadata(run: EvalRun, result: PairwiseResult) -> RunMetadata:
    stats, config, prompt = result.stats, run.config, run.prompt
    backend = {k: v for k, v in run.backend_info.items() if k not in _VOLATILE_BACKEND_KEYS}
    template = prompt.template
    return RunMetadata(
        tool=run.tool or run.benchmark.tool,
        tool_version=tool_version(),
        git_commit=git_commit(Path(__file__).resolve().parent),
        inputs=[run.data.input],
        prompt_version=template.version,
        verdict_format_version=VERDICT_FORMAT_VERSION,
        seed=config.seed,
        model=run.model_id,
        sampling=asdict(config.sampling),
        config={
            "backend": backend,
            "prompt": {"name": template.name, "origin": template.origin, "sha256": template.sha256,
                       "source": prompt.source, "variant": prompt.variant},
            "request_options": dict(config.request_options),
            "order": config.order,
            "parse_mode": config.parse_mode,
            "parse_failure_score": config.failure_score,
            "cache": run.cache_path,
            "versions": library_versions(),
        },
        counts={"items": len(result.item_comparisons), "total_items": run.data.total_items,
                "judgments": stats.judgments,
                "unique_requests": stats.unique_requests, "skipped_overlong": stats.skipped_overlong,
                "rejected": stats.rejected},
        volatile=now_volatile(
            cache_hits=stats.cache_hits, generated=stats.generated, backend_calls=stats.backend_calls,
            generation_seconds=round(stats.generation_seconds, 3), cache_bad_lines=stats.cache_bad_lines,
            cache_torn_tail=stats.cache_torn_tail, longest_prompt_tokens=stats.longest_prompt_tokens,
            usage={k: v for k, v in run.backend_info.items() if k in _VOLATILE_BACKEND_KEYS},
        ),
    )
