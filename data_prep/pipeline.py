"""The build: inputs -> pairs (cleaned, decontaminated: :mod:`data_prep.collect`; prompt lengths of
every variant measured meanwhile in a helper thread: :mod:`data_prep.length_stream`) -> splits -> per
variant (length filter, A/B placement, rendering) -> ``{out}/{variant}/{train,val[,distill]}.parquet``
+ ``manifest.json``.

Every stage counts what it keeps and drops per source; the manifest accounts for every input row
(read = dropped + kept, per source). Each variant folder is written into a temp folder and swapped in
whole, so a failed build leaves nothing half-made. :func:`build` is what the CLI, the preflight, the
benchmark and tests call.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_prep import manifest
from data_prep.adapters import InputSpec
from data_prep.collect import Collected, DuplicateIdError, collect
from data_prep.length_filter import PromptLengthFilter, load_tokenizer
from data_prep.length_stream import BackgroundLengths
from data_prep.options import BuildOptions
from data_prep.pairs import PreferencePair
from data_prep.placement import balance, place
from data_prep.prompts import VARIANTS, PromptTemplate, builtin_template, load_template
from data_prep.splits import SPLITS, split_pairs
from data_prep.stage_timer import StageTimer
from data_prep.writers import rl_row, staged_dir, write_parquet_rows

__all__ = ["BuildError", "BuildOptions", "BuildResult", "VariantBuild", "build", "describe", "read_pairs"]
SourceCounts = dict[str, int]
_FOLDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class BuildError(ValueError):
    """The build cannot produce usable data; the message names the input and the fix."""


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


@dataclass(frozen=True)
class BuildResult:
    """All variants written by :func:`build`, the counts they share and the seconds per stage."""

    variants: dict[str, VariantBuild]
    input_pairs: SourceCounts  # rows read per source
    duplicates: SourceCounts
    dropped: dict[str, SourceCounts] = field(default_factory=dict)  # shared drops (not too_long) per reason
    timings: dict[str, float] = field(default_factory=dict)


def check_options(options: BuildOptions) -> None:
    """Raise :class:`BuildError` for option combinations that cannot work."""
    if not options.inputs and options.mix is None:
        raise BuildError("no inputs given; pass --mix rm_r1 or --inputs FILE (for a first run: "
                         "preflight/samples/pairs.jsonl).")
    if not options.variants:
        raise BuildError("no variant given; pass --variant instruct and/or reasoning.")
    if options.prompt_template is not None and len(options.variants) != 1:
        raise BuildError("--prompt-template replaces one variant's prompt; pass exactly one --variant with it.")
    if options.prompt_template is None and (bad := [v for v in options.variants if v not in VARIANTS]):
        raise BuildError(f"variants {bad} are not among {list(VARIANTS)}; pick those, or give --prompt-template.")
    if bad := [v for v in options.variants if not _FOLDER_NAME.match(v)]:
        raise BuildError(f"variant names {bad} cannot name a folder; use lowercase letters, digits, '_', '.' or '-'.")
    if (options.tokenizer is None) != (options.max_prompt_length is None):
        raise BuildError("--tokenizer and --max-prompt-length work together; pass both or neither.")
    if options.val_size <= 0:
        raise BuildError(f"--val-size {options.val_size} would leave val.parquet empty; pass a positive size.")
    if options.decontam_ngram < 1 or not 0 < options.decontam_threshold <= 1:
        raise BuildError(f"--decontam-ngram {options.decontam_ngram} must be >= 1 and --decontam-threshold "
                         f"{options.decontam_threshold} in (0, 1]; pass values in range.")
    for path in (spec.location for spec in options.inputs):
        if not Path(path).is_file():
            raise BuildError(f"input file {path!r} does not exist; check the path passed to --inputs.")


def build(options: BuildOptions) -> BuildResult:
    """Build every requested variant and return where everything went."""
    check_options(options)
    timer = StageTimer()
    with timer("setup"):
        templates = {variant: _template(options, variant) for variant in options.variants}
        length_filter = _length_filter(options)
    with contextlib.ExitStack() as stack:
        measure = None
        if length_filter is not None:
            measure = stack.enter_context(BackgroundLengths(length_filter, templates))
        try:
            collected = collect(options, timer, on_kept=measure.add if measure else None)
        except DuplicateIdError as err:
            raise BuildError(str(err)) from err
        if not collected.pairs:
            raise BuildError(f"inputs {_names(options)} hold no preference pairs to keep (dropped: "
                             f"{_drop_summary(collected)}); point --inputs/--source at files with rows.")
        lengths = _wait_for_lengths(measure, options.progress, timer)
    with timer("split"):
        try:
            splits = split_pairs(collected.pairs, options.val_size, options.distill_fraction, options.seed)
        except ValueError as err:
            raise BuildError(f"cannot split {len(collected.pairs)} pairs: {err}") from err
    limit = length_filter.max_prompt_length if length_filter else None
    variants = {variant: _build_variant(options, variant, template, splits, lengths.get(variant), limit, collected,
                                        timer) for variant, template in templates.items()}
    ledger = collected.ledger
    shared = {reason: counts for reason, counts in ledger.dropped_counts().items() if reason != "too_long"}
    return BuildResult(variants=variants, input_pairs=ledger.read_counts(), duplicates=shared["duplicate"],
                       dropped=shared, timings=timer.rounded())


def read_pairs(
    inputs: Sequence[InputSpec], progress: bool = True
) -> tuple[list[PreferencePair], SourceCounts, SourceCounts]:
    """The cleaned pairs of local input files, with rows read and duplicates dropped per source."""
    collected = collect(BuildOptions(inputs=tuple(inputs), progress=progress))
    ledger = collected.ledger
    return collected.pairs, ledger.read_counts(), ledger.dropped_counts()["duplicate"]


def _names(options: BuildOptions) -> list[str]:
    return [spec.location for spec in options.inputs] + [s.where for s in (options.mix.sources if options.mix else ())]


def _drop_summary(collected: Collected) -> str:
    totals = {r: sum(c.values()) for r, c in collected.ledger.dropped_counts().items() if c}
    return ", ".join(f"{r} {n}" for r, n in totals.items()) or "none"


def _template(options: BuildOptions, variant: str) -> PromptTemplate:
    if options.prompt_template is not None:
        return load_template(options.prompt_template, name=variant)
    return builtin_template(variant)


def _length_filter(options: BuildOptions) -> PromptLengthFilter | None:
    if options.tokenizer is None or options.max_prompt_length is None:
        return None
    tokenizer = load_tokenizer(options.tokenizer)
    return PromptLengthFilter(tokenizer, options.max_prompt_length, options.chat_template_kwargs)


def _wait_for_lengths(
    measure: BackgroundLengths | None, progress: bool, timer: StageTimer
) -> dict[str, dict[str, int]]:
    """The prompt lengths measured in the background (waiting for the chunks still queued)."""
    if measure is None:
        return {}
    with timer("measure_wait"), tqdm(total=measure.queued(), desc="measure prompts", unit=" pairs",
                                     disable=not progress, mininterval=0.5) as bar:
        return measure.lengths(on_chunk=bar.update)


def _filter_lengths(
    splits: Mapping[str, list[PreferencePair]], lengths: Mapping[str, int] | None, limit: int | None
) -> tuple[dict[str, list[PreferencePair]], SourceCounts]:
    if lengths is None or limit is None:
        return dict(splits), {}
    kept = {split: [p for p in pairs if lengths[p.id] <= limit] for split, pairs in splits.items()}
    dropped = Counter(p.source for pairs in splits.values() for p in pairs if lengths[p.id] > limit)
    return kept, dict(sorted(dropped.items()))


def _build_variant(
    options: BuildOptions,
    variant: str,
    template: PromptTemplate,
    splits: Mapping[str, list[PreferencePair]],
    lengths: Mapping[str, int] | None,
    limit: int | None,
    collected: Collected,
    timer: StageTimer,
) -> VariantBuild:
    kept, too_long = _filter_lengths(splits, lengths, limit)
    wanted = [s for s in SPLITS if s != "distill" or options.distill_fraction > 0]
    for split in wanted:
        if not kept[split]:
            raise BuildError(_empty_split_message(split, variant, options, sum(map(len, splits.values()))))
    final = Path(options.out) / variant
    counts = manifest.shared_counts(collected, too_long)
    with timer(f"{variant}:write"), staged_dir(final) as stage:
        files = {}
        for split in wanted:
            pairs, positions = _placed(kept[split], split, options.seed)
            rows = _rows(pairs, positions, split, template, variant, options.seed, options.progress)
            write_parquet_rows(rows, stage / f"{split}.parquet")
            files[split] = final / f"{split}.parquet"
            manifest.add_split_counts(counts, split, kept[split], positions, balance(kept[split], positions))
        try:
            manifest.add_accounting(counts)
        except ValueError as err:
            raise BuildError(str(err)) from err
        meta = manifest.build_manifest(options, variant, template, counts, stage, wanted, collected)
        meta.write(stage / manifest.MANIFEST_NAME)
    rows_per_split = {s: sum(counts["rows"][s].values()) for s in wanted}
    return VariantBuild(variant, final, files, final / manifest.MANIFEST_NAME, rows_per_split, template.version,
                        counts["accounting"])


def _placed(pairs: list[PreferencePair], split: str, seed: int) -> tuple[list[PreferencePair], dict[str, str]]:
    positions = place(pairs, split=split, seed=seed)
    ordered = list(pairs)
    random.Random(f"order:{seed}:{split}").shuffle(ordered)  # mixed sources even if the trainer does not shuffle
    return ordered, positions


def _rows(
    pairs: Sequence[PreferencePair], positions: Mapping[str, str], split: str, template: PromptTemplate,
    variant: str, seed: int, progress: bool,
) -> Iterator[dict[str, Any]]:
    for i, pair in enumerate(tqdm(pairs, desc=f"{variant}: write {split}", unit=" rows", disable=not progress,
                                  mininterval=0.5)):
        yield rl_row(pair, template=template, chosen_position=positions[pair.id], split=split, index=i,
                     variant=variant, seed=seed)


def _empty_split_message(split: str, variant: str, options: BuildOptions, total: int) -> str:
    knob = {"train": "--val-size/--distill-fraction", "val": "--val-size", "distill": "--distill-fraction"}[split]
    why = " after the length filter" if options.max_prompt_length else ""
    return (
        f"the {variant} {split} split is empty{why} ({total} pairs in all); "
        f"add pairs, adjust {knob}{' or raise --max-prompt-length' if why else ''}."
    )


def describe(options: BuildOptions) -> str:
    """What :func:`build` would write for ``options`` (the CLI prints this when run without arguments)."""
    inputs = ", ".join(_names(options)) or "(none given)"
    lines = [f"inputs: {inputs}", f"seed {options.seed}, val size {options.val_size}, "
             f"distill fraction {options.distill_fraction}"]
    for variant in options.variants:
        template = _template(options, variant)
        names = [s for s in SPLITS if s != "distill" or options.distill_fraction > 0]
        files = ", ".join(f"{s}.parquet" for s in names)
        folder = os.fspath(Path(options.out) / variant)
        lines.append(f"{folder}/: {files}, {manifest.MANIFEST_NAME} (prompt {template.version}, {template.origin})")
    return "\n".join(lines)
