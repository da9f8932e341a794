"""One robustness run inside an open cache and backend: judge the probes, measure, write the reports.

Shared by ``eval/robustness.py`` and ``eval/run_all.py --robustness``: the caller owns the flags, the
output checks, the backend and the cache lock; this module only uses the evaluation seam
(:func:`eval.evaluate.evaluate` over the probe :class:`eval.benchmark.Benchmark`) and the cache.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from data_prep.prompts import PromptTemplate
from data_prep.robustness.library import LIBRARY_VERSION
from eval.backends.base import Backend
from eval.benchmark import Benchmark, BenchmarkData
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.evaluate import EvalConfig, PairwiseResult, evaluate
from eval.judge_prompt import PromptChoice
from eval.report import EvalRun, write_reports
from eval.robustness import report as robust_report
from eval.robustness.edits import RULES
from eval.robustness.generators import ProbePlan
from eval.robustness.metrics import probe_metrics
from eval.robustness.second_pass import clean_readings, intervention, text_measures
from eval.robustness.suite import ProbeSink, probe_items, robustness_benchmark
from infra.atomic_files import write_text_atomic


@dataclass
class Suite:
    """The probe benchmark over a base benchmark, and the sink its aggregation fills."""

    base: Benchmark
    plan: ProbePlan
    sink: ProbeSink = field(default_factory=ProbeSink)

    @cached_property
    def benchmark(self) -> Benchmark:
        return robustness_benchmark(self.base, self.plan, self.sink)

    def data_from(self, base_data: BenchmarkData) -> BenchmarkData:
        """Probe items from base data already loaded (run_all loads each benchmark once)."""
        items = probe_items(self.base, base_data.items)
        return replace(base_data, items=items, total_items=len(items))


def measure(suite: Suite, benchmark: Benchmark, data: BenchmarkData, template: PromptTemplate, backend: Backend,
            cache: GenerationCache, config: EvalConfig) -> tuple[PairwiseResult, dict[str, Any]]:
    """Judge every probe (cached ones reused), then every rate, the text measures and the intervention."""
    result = evaluate(benchmark, data, template, backend, cache, config)
    mode, seed = config.parse_mode, suite.plan.seed
    texts = text_measures(clean_readings(suite.sink, mode, cache))
    rows, nldd, note = intervention(suite.sink, mode, cache, backend, template, config.sampling,
                                    config.request_options, seed, config.progress)
    report: dict[str, Any] = {"model": backend.model_id, "base_benchmark": suite.base.name, "seed": seed,
                              "library_version": LIBRARY_VERSION, "probes": list(suite.plan.probes),
                              "parse_mode": mode, "prompt_version": template.version, "rules": RULES,
                              **probe_metrics(suite.sink.judged(mode), seed), **texts,
                              "intervention": rows, "nldd": nldd, "intervention_note": note}
    return result, report


def write_robustness(out: Path, report: dict[str, Any], bounds: Mapping[str, float | None], plots: bool) -> list[str]:
    """robustness.json / .md / .png in ``out``; returns the thresholds exceeded (one sentence each)."""
    report["thresholds"] = {k: v for k, v in bounds.items() if v is not None}
    report["exceeded"] = robust_report.exceeded(report, bounds)
    write_text_atomic(out / "robustness.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out / "robustness.md", robust_report.render(report))
    if plots:
        robust_report.write_png(report, out)
    return list(report["exceeded"])


def planned(name: str | None, loaded: Mapping[str, tuple[Benchmark, BenchmarkData]], order: str,
            seed: int) -> tuple[Suite, BenchmarkData] | None:
    """run_all's ``--robustness NAME``: the suite over NAME's loaded data (None without the flag)."""
    if name is None:
        return None
    if name not in loaded:
        raise EvalError(f"--robustness {name!r} must name a benchmark this run loads ({', '.join(loaded)}); "
                        "add it to --benchmarks or give it --data.")
    if order != "both":
        raise EvalError(f"--robustness needs --order both (each probe is compared with its clean pair in the same "
                        f"order), not --order {order}.")
    suite = Suite(loaded[name][0], ProbePlan(seed=seed))
    return suite, suite.data_from(loaded[name][1])


def run_in_all(out: Path, planned_suite: tuple[Suite, BenchmarkData], prompt: PromptChoice, backend: Backend,
               cache: GenerationCache, config: EvalConfig, limit: int | None, cache_shown: str,
               plots: bool) -> dict[str, Any]:
    """Judge and report the suite into ``out`` (run_all's <out>/robustness); returns the robustness report."""
    suite, data = planned_suite
    result, report = measure(suite, suite.benchmark, data, prompt.template, backend, cache, config)
    write_reports(out, EvalRun(suite.benchmark, data, config, prompt, backend.describe(), backend.model_id, limit,
                               cache_shown, tool="eval.run_all"), result, plots=plots)
    write_robustness(out, report, {}, plots)
    shown = ", ".join(f"{k} {'—' if v is None else f'{v:.3f}'}" for k, v in robust_report.headlines(report).items())
    print(f"robustness ({suite.base.name} data): {shown}", file=sys.stderr)
    return report
