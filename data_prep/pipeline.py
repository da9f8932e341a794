"""The build: inputs -> pairs (:mod:`data_prep.collect`; prompt lengths measured meanwhile by
:class:`~data_prep.length_filter.BackgroundLengths`) -> splits -> per variant, a :class:`VariantPlan` (the
length filter), A/B placement and rendering -> ``{out}/{variant}/{train,val[,distill]}.parquet`` + manifest.

Every variant is staged first and all are swapped in together (:func:`output_tree`), so a failed,
interrupted or killed build leaves the old tree as it was.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_prep import manifest
from data_prep.collect import Collected, StageTimer, collect
from data_prep.errors import BuildError
from data_prep.length_filter import (
    BackgroundLengths,
    PromptLengthFilter,
    length_stats,
    load_tokenizer,
    tokenizer_name,
    tokenizer_sha256,
)
from data_prep.options import BuildOptions, check_options
from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate, builtin_template, load_template
from data_prep.splits import SPLITS, place, split_pairs
from data_prep.writers import rl_row, write_parquet_rows
from infra.output_guard import check_output
from infra.staged_output import StagedOutput, check_folder
from infra.user_json import read_json_file

__all__ = ["BuildError", "BuildOptions", "BuildResult", "VariantBuild", "build", "check_options"]
SourceCounts = dict[str, int]
STAGE_PREFIX, JOURNAL_KEY = ".build-", "variants"  # {out}/.build-XXXX/new/{variant}/, the journal's key
_KNOBS = {"train": "--val-size/--distill-fraction", "val": "--val-size", "distill": "--distill-fraction"}


@dataclass(frozen=True)
class VariantBuild:
    """What one variant's build wrote."""

    variant: str
    directory: Path
    files: dict[str, Path]  # split name -> parquet path
    manifest: Path
    rows: dict[str, int]
    prompt_version: str
    accounting: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> read / dropped / kept
    too_long_multi_turn: int = 0  # multi-turn pairs the length filter dropped (the console warns about them)
    prompt_tokens: dict[str, Any] | None = None  # min / median / p99 / max judge-prompt tokens (with a tokenizer)


@dataclass(frozen=True)
class BuildResult:
    """All variants written by :func:`build`, the counts they share and the seconds per stage."""

    variants: dict[str, VariantBuild]
    input_pairs: SourceCounts  # rows read per source
    dropped: dict[str, SourceCounts] = field(default_factory=dict)  # shared drops (not too_long) per reason
    timings: dict[str, float] = field(default_factory=dict)


def build(options: BuildOptions) -> BuildResult:
    """Build every requested variant into ``options.out``: all of them, or (on any error) none."""
    check_options(options)
    check_out_path(options)
    timer = StageTimer()
    with output_tree(options.out) as tree:  # locked, stale temporaries gone, writable: before any reading
        with timer("setup"):
            templates = {v: builtin_template(v) if options.prompt_template is None else
                         load_template(options.prompt_template, name=v) for v in options.variants}
            length_filter = None if options.tokenizer is None or options.max_prompt_length is None else \
                PromptLengthFilter(load_tokenizer(options.tokenizer), options.max_prompt_length,
                                   options.chat_template_kwargs)
        collected, lengths = _collect(options, templates, length_filter, timer)
        with timer("split"):
            splits = split_pairs(collected.pairs, options.val_size, options.distill_fraction, options.seed)
        limit = length_filter.max_prompt_length if length_filter else None
        wanted = [s for s in SPLITS if s != "distill" or options.distill_fraction > 0]
        plans = [plan_variant(v, t, splits, wanted, lengths.get(v), limit) for v, t in templates.items()]
        check_plans(plans, splits, options, lengths)
        tokenizer = {"name": None, "sha256": None} if options.tokenizer is None or length_filter is None else \
            {"name": tokenizer_name(options.tokenizer), "sha256": tokenizer_sha256(length_filter.tokenizer)}
        variants = {plan.variant: _write_variant(options, plan, tree, collected, tokenizer, timer) for plan in plans}
        with timer("commit"):
            tree.commit()
    ledger = collected.ledger
    shared = {reason: counts for reason, counts in ledger.dropped_counts().items() if reason != "too_long"}
    return BuildResult(variants=variants, input_pairs=ledger.read_counts(), dropped=shared, timings=timer.rounded())


def output_tree(out: Path) -> StagedOutput:
    """``with output_tree(out) as tree:`` write into ``tree.folder(variant)``, then commit: all land, or none."""
    return StagedOutput(out, what="build", error=BuildError, prefix=STAGE_PREFIX, journal_key=JOURNAL_KEY)


def check_out_path(options: BuildOptions) -> None:
    """Refuse an ``--out`` that is, holds or sits in an input, or holds variant folders another tool made."""
    check_folder(options.out, "--out", BuildError)
    sources = [s.location for s in options.mix.sources if s.location] if options.mix else []
    inputs = [("--inputs", spec.location) for spec in options.inputs] + [("--source", p) for p in sources] + \
        [("--decontaminate", b.location) for b in options.benchmarks] + \
        [("--prompt-template", options.prompt_template), ("--tokenizer", options.tokenizer)]
    check_output("--out", options.out, inputs, ours=lambda out: all(_built_here(out / v) for v in options.variants))


def _built_here(folder: Path) -> bool:
    """A variant folder that is absent, empty, or holds a manifest this builder wrote (a rerun replaces it)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return not folder.exists() or folder.is_dir()
    held = read_json_file(folder / manifest.MANIFEST_NAME, default=None)
    return isinstance(held, dict) and held.get("tool") == manifest.TOOL


def _collect(options: BuildOptions, templates: Mapping[str, PromptTemplate], length_filter: PromptLengthFilter | None,
             timer: StageTimer) -> tuple[Collected, dict[str, dict[str, int]]]:
    """Read, clean and decontaminate, measuring prompt lengths meanwhile in a helper thread."""
    measure = BackgroundLengths(length_filter, templates) if length_filter is not None else None
    with measure or contextlib.nullcontext():
        collected = collect(options, timer, on_kept=measure.add if measure else None)
        if not collected.pairs:
            sources = options.mix.sources if options.mix else ()
            names = [spec.location for spec in options.inputs] + [source.where for source in sources]
            totals = {r: sum(c.values()) for r, c in collected.ledger.dropped_counts().items() if c}
            drops = ", ".join(f"{r} {n}" for r, n in totals.items()) or "none"
            raise BuildError(f"inputs {names} hold no preference pairs to keep (dropped: {drops}); point "
                             "--inputs/--source at files with rows.")
        if measure is None:
            return collected, {}
        with timer("measure_wait"), tqdm(total=measure.queued(), desc="measure prompts", unit=" pairs",
                                         disable=not options.progress, mininterval=0.5) as bar:
            return collected, measure.lengths(on_chunk=bar.update)


def _write_variant(options: BuildOptions, plan: VariantPlan, tree: StagedOutput, collected: Collected,
                   tokenizer: Mapping[str, str | None], timer: StageTimer) -> VariantBuild:
    """Write one variant's parquet files and manifest into its staging folder (committed later, with the rest)."""
    variant, final = plan.variant, Path(options.out) / plan.variant
    counts = _shared_counts(collected, plan)
    with timer(f"{variant}:write"):
        stage = tree.folder(variant)
        files = {}
        for split, kept in plan.kept.items():
            positions = place(kept, split=split, seed=options.seed)
            ordered = list(kept)
            random.Random(f"order:{options.seed}:{split}").shuffle(ordered)  # mixed sources for any trainer
            bar = tqdm(ordered, desc=f"{variant}: write {split}", unit=" rows", disable=not options.progress,
                       mininterval=0.5)
            write_parquet_rows((rl_row(pair, template=plan.template, chosen_position=positions[pair.id], split=split,
                                       index=i, variant=variant, seed=options.seed) for i, pair in enumerate(bar)),
                               stage / f"{split}.parquet")
            files[split] = final / f"{split}.parquet"
            manifest.add_split_counts(counts, split, kept, positions)
        manifest.add_accounting(counts)
        meta = manifest.build_manifest(options, variant, plan.template, counts, stage, list(plan.kept), collected,
                                       tokenizer)
        meta.write(stage / manifest.MANIFEST_NAME)
    rows_per_split = {s: sum(counts["rows"][s].values()) for s in plan.kept}
    return VariantBuild(variant, final, files, final / manifest.MANIFEST_NAME, rows_per_split, plan.template.version,
                        counts["accounting"], sum(plan.too_long_multi_turn.values()), plan.prompt_tokens)


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


def _shared_counts(collected: Collected, plan: VariantPlan) -> dict[str, Any]:
    """The counts every variant shares, with this variant's length-filter drops and prompt lengths filled in."""
    ledger = collected.ledger
    dropped = ledger.dropped_counts()
    dropped["too_long"] = dict(plan.too_long)
    decontamination = collected.decontamination["counts"] if collected.decontamination else {}
    return {"input_pairs": ledger.read_counts(), "dropped": dropped,
            "too_long_multi_turn": dict(plan.too_long_multi_turn), "prompt_tokens": plan.prompt_tokens,
            "neutralised": ledger.neutralised_counts(), "decontamination": decontamination, "rows": {},
            "chosen_position": {}, "chosen_position_total": {}, "multi_turn": {}}
