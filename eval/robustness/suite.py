"""The probes as a :class:`eval.benchmark.Benchmark`: any benchmark's pairwise data becomes probe items.

One robustness item per comparison the base benchmark's loader and expansion yield (a comparison's
better and worse answer are all a probe needs); it expands to the clean comparison and its probes
(:mod:`eval.robustness.generators`). The shared runner, cache and backends judge them in the run's
orders like any benchmark. The item score is the CLEAN comparison's score, so the ordinary report's
headline is the clean accuracy; the probe rates are computed from the verdicts the aggregation sees
(:class:`ProbeSink` keeps them), which is all this module relies on of the evaluation machinery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eval.benchmark import Benchmark, Comparison, Item, ViewInput
from eval.robustness.faithfulness import Reading
from eval.robustness.generators import ProbePlan, probe_comparisons
from eval.robustness.metrics import Judged
from eval.scoring import ScoredJudgment
from infra.run_metadata import InputRef

NAME = "robustness"


@dataclass
class ProbeSink:
    """What the aggregation saw, per parse mode: every probe comparison with its judgments per order."""

    seen: dict[str, dict[str, tuple[Comparison, Mapping[str, ScoredJudgment]]]] = field(default_factory=dict)

    def capture(self, view: ViewInput) -> None:
        self.seen[view.mode] = {cid: (view.comparisons[cid], judged) for cid, judged in view.verdicts.items()}

    def judged(self, mode: str) -> list[Judged]:
        return [Judged(c, {tag: j.verdict(mode).label for tag, j in judged.items()})
                for c, judged in self.seen.get(mode, {}).values()]

    def keys(self, mode: str) -> list[tuple[Comparison, str, str, str | None]]:
        """(comparison, order tag, cache key, verdict label) of every judgment."""
        return [(c, tag, j.key, j.verdict(mode).label) for c, judged in self.seen.get(mode, {}).values()
                for tag, j in judged.items()]


def reading(comparison: Comparison, tag: str, text: str, label: str | None) -> Reading:
    """A judged text with the candidate texts as the judge saw them under A and B."""
    shown_a, shown_b = comparison.shown(tag)
    return Reading(str(comparison.metadata["base"]), tag, text,
                   {"A": shown_a[-1]["content"], "B": shown_b[-1]["content"]}, label)


def probe_items(base: Benchmark, items: Sequence[Item]) -> list[Item]:
    """One robustness item per comparison of ``base``'s items (its payload is that comparison)."""
    out = []
    for item in items:
        for comparison in base.expand(item):
            if comparison.sample == 0:  # voting samples repeat a comparison; one is enough here
                out.append(Item(comparison.comparison_id, item.subset, comparison, item.place))
    return out


def robustness_benchmark(base: Benchmark, plan: ProbePlan, sink: ProbeSink) -> Benchmark:
    """The probe benchmark over ``base``'s data (same --data, --split, --revision as the base CLI)."""

    def load(source: str, split: str, revision: str | None) -> tuple[list[Item], InputRef]:
        items, ref = base.load(source, split, revision)
        return probe_items(base, items), ref

    def expand(item: Item) -> list[Comparison]:
        return probe_comparisons(item.payload, plan)

    def clean_score(view: str, mode: str, comparisons: Sequence[Comparison], scores: Sequence[float],
                    verdicts: Sequence[Mapping[str, ScoredJudgment]]) -> float:
        return scores[0]  # the clean comparison comes first

    def aggregate(view: ViewInput) -> dict[str, Any]:
        sink.capture(view)
        scores = [s for values in view.subset_scores.values() for s in values]
        subsets = {name: sum(v) / len(v) for name, v in view.subset_scores.items() if v}
        overall = sum(scores) / len(scores) if scores else None
        return {"overall": overall, "sections": {"clean": overall}, "subsets": subsets,
                "subset_items": {name: len(v) for name, v in view.subset_scores.items()}, "micro_mean": overall}

    def overall_score(sections: Mapping[str, Any]) -> Any:
        return sections.get("clean")

    return Benchmark(
        name=NAME, tool="eval.robustness", load=load, expand=expand, aggregate=aggregate,
        sections={"clean": tuple(sorted({s for subsets in base.sections.values() for s in subsets}))},
        conventions="headline: clean accuracy (micro mean over the base comparisons); probe rates in "
                    "robustness.md, conditioned on the clean comparison judged right in the same order",
        section_scores=lambda subsets: {"clean": sum(subsets.values()) / len(subsets) if subsets else None},
        overall_score=overall_score, data_default=base.data_default, split=base.split, revision=base.revision,
        item_rule=clean_score, score_label="clean accuracy")
