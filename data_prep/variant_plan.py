"""What each variant will write, decided before anything is written: the length filter's keeps and drops
(multi-turn drops counted apart, so they can be warned about), prompt-length statistics, and one error
naming every variant whose split would be empty, why, and which ``--variant`` would still build.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_prep.errors import BuildError
from data_prep.length_filter import length_stats
from data_prep.options import BuildOptions
from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate

SourceCounts = dict[str, int]
_KNOBS = {"train": "--val-size/--distill-fraction", "val": "--val-size", "distill": "--distill-fraction"}


@dataclass(frozen=True)
class VariantPlan:
    """One variant's pairs per split after the length filter, and what the filter did."""

    variant: str
    template: PromptTemplate
    kept: dict[str, list[PreferencePair]]  # only the splits this build writes
    too_long: SourceCounts  # pairs over the limit, per source
    too_long_multi_turn: SourceCounts  # of those, the multi-turn pairs (their long histories make them likely)
    prompt_tokens: dict[str, Any] | None  # length_stats of every measured pair; None without a tokenizer


def plan_variant(
    variant: str, template: PromptTemplate, splits: Mapping[str, list[PreferencePair]], wanted: Sequence[str],
    lengths: Mapping[str, int] | None, limit: int | None,
) -> VariantPlan:
    """Apply the length filter (if measured) to ``splits`` for one variant."""
    if lengths is None or limit is None:
        return VariantPlan(variant, template, {s: list(splits[s]) for s in wanted}, {}, {}, None)
    kept = {s: [p for p in splits[s] if lengths[p.id] <= limit] for s in wanted}
    over = [p for s in wanted for p in splits[s] if lengths[p.id] > limit]
    stats = length_stats((lengths[p.id] for s in wanted for p in splits[s]), limit)
    return VariantPlan(variant, template, kept, _by_source(over), _by_source(p for p in over if p.is_multi_turn),
                       stats)


def check_plans(plans: Sequence[VariantPlan], splits: Mapping[str, list[PreferencePair]], options: BuildOptions,
                lengths: Mapping[str, Mapping[str, int]]) -> None:
    """Raise one :class:`BuildError` naming every empty split, why it is empty, and what still builds."""
    empty = [(plan, split) for plan in plans for split, pairs in plan.kept.items() if not pairs]
    if not empty:
        return
    full = [plan.variant for plan in plans if all(plan.kept.values())]
    reasons = "; ".join(_why(plan, split, splits[split], options, lengths.get(plan.variant)) for plan, split in empty)
    only = f", or build only {' and '.join(full)} with --variant {' '.join(full)}" if full else ""
    fixes = sorted({_fix(split, options, bool(plan.too_long)) for plan, split in empty})
    raise BuildError(f"{reasons}; {' or '.join(fixes)}{only}.")


def _why(plan: VariantPlan, split: str, before: Sequence[PreferencePair], options: BuildOptions,
         lengths: Mapping[str, int] | None) -> str:
    if before and lengths is not None:  # the split had pairs: the length filter took them all
        shortest = min(lengths[p.id] for p in before)
        return (f"the {plan.variant} {split} split is empty after the length filter: all {len(before)} of its pairs "
                f"have judge prompts over --max-prompt-length {options.max_prompt_length} tokens in the "
                f"{plan.variant} prompt (the shortest has {shortest})")
    total = sum(len(v) for v in plan.kept.values())
    return f"the {plan.variant} {split} split is empty: {total} pairs in all are too few for {_KNOBS[split]}"


def _fix(split: str, options: BuildOptions, filtered: bool) -> str:
    if filtered and options.max_prompt_length is not None:
        return "raise --max-prompt-length"
    return f"add pairs or adjust {_KNOBS[split]}"


def _by_source(pairs: Any) -> SourceCounts:
    return dict(sorted(Counter(p.source for p in pairs).items()))
