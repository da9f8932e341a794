"""The build: inputs -> pairs -> (dedupe) -> splits -> per variant (length filter, A/B placement,
rendering) -> ``{out}/{variant}/{train,val[,distill]}.parquet`` + ``manifest.json``.

Every stage counts what it keeps and drops per source; the counts go into the manifest. Each variant
folder is written into a temp folder and swapped in whole, so a failed build leaves nothing half-made.
:func:`build` is what the CLI, the preflight and tests call.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_prep import manifest
from data_prep.adapters import InputSpec, open_input
from data_prep.length_filter import PromptLengthFilter, load_tokenizer
from data_prep.pairs import PreferencePair
from data_prep.placement import balance, place
from data_prep.prompts import VARIANTS, PromptTemplate, builtin_template, load_template
from data_prep.splits import SPLITS, split_pairs
from data_prep.writers import rl_row, staged_dir, write_parquet

DEFAULT_OUT = Path("data/rm_r1")  # where the recipes look by default (recipes/variant/*.yaml)
DEFAULT_VAL_SIZE = 0.02
SourceCounts = dict[str, int]
_FOLDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class BuildError(ValueError):
    """The build cannot produce usable data; the message names the input and the fix."""


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build depends on (all of it is recorded in each variant's manifest)."""

    inputs: tuple[InputSpec, ...]
    out: Path = DEFAULT_OUT
    variants: tuple[str, ...] = VARIANTS
    val_size: float = DEFAULT_VAL_SIZE
    distill_fraction: float = 0.0
    seed: int = 0
    prompt_template: Path | None = None
    tokenizer: str | None = None
    max_prompt_length: int | None = None
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    progress: bool = True


@dataclass(frozen=True)
class VariantBuild:
    """What one variant's build wrote."""

    variant: str
    directory: Path
    files: dict[str, Path]  # split name -> parquet path
    manifest: Path
    rows: dict[str, int]
    prompt_version: str


@dataclass(frozen=True)
class BuildResult:
    """All variants written by :func:`build`, and the pair counts they share."""

    variants: dict[str, VariantBuild]
    input_pairs: SourceCounts
    duplicates: SourceCounts


def check_options(options: BuildOptions) -> None:
    """Raise :class:`BuildError` for option combinations that cannot work."""
    if not options.inputs:
        raise BuildError("no inputs given; pass --inputs FILE (for a first run: data_prep/samples/pairs.jsonl).")
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
    for path in (spec.location for spec in options.inputs):
        if not Path(path).is_file():
            raise BuildError(f"input file {path!r} does not exist; check the path passed to --inputs.")


def build(options: BuildOptions) -> BuildResult:
    """Build every requested variant and return where everything went."""
    check_options(options)
    pairs, read, dups = read_pairs(options.inputs, options.progress)
    if not pairs:
        names = [spec.location for spec in options.inputs]
        raise BuildError(f"inputs {names} hold no preference pairs; point --inputs at files with rows.")
    try:
        splits = split_pairs(pairs, options.val_size, options.distill_fraction, options.seed)
    except ValueError as err:
        raise BuildError(f"cannot split {len(pairs)} pairs: {err}") from err
    length_filter = _length_filter(options)
    variants = {}
    for variant in options.variants:
        template = _template(options, variant)
        variants[variant] = _build_variant(options, variant, template, splits, length_filter, read, dups)
    return BuildResult(variants=variants, input_pairs=read, duplicates=dups)


def read_pairs(
    inputs: Sequence[InputSpec], progress: bool = True
) -> tuple[list[PreferencePair], SourceCounts, SourceCounts]:
    """All pairs from all inputs, exact duplicates (same id and content) dropped; with per-source counts."""
    seen: dict[str, PreferencePair] = {}
    read: Counter[str] = Counter()
    dups: Counter[str] = Counter()
    for spec in inputs:
        bar = tqdm(open_input(spec), desc=f"read {Path(spec.location).name}", unit=" pairs", disable=not progress)
        for pair in bar:
            read[pair.source] += 1
            first = seen.get(pair.id)
            if first is None:
                seen[pair.id] = pair
            elif first == pair:
                dups[pair.source] += 1
            else:
                raise BuildError(
                    f"pair id {pair.id!r} names two different pairs (sources {first.source!r} and {pair.source!r}); "
                    "make the ids unique or drop the 'id' column to use content hashes."
                )
    return list(seen.values()), dict(sorted(read.items())), dict(sorted(dups.items()))


def _template(options: BuildOptions, variant: str) -> PromptTemplate:
    if options.prompt_template is not None:
        return load_template(options.prompt_template, name=variant)
    return builtin_template(variant)


def _length_filter(options: BuildOptions) -> PromptLengthFilter | None:
    if options.tokenizer is None or options.max_prompt_length is None:
        return None
    tokenizer = load_tokenizer(options.tokenizer)
    return PromptLengthFilter(tokenizer, options.max_prompt_length, options.chat_template_kwargs)


def _filter_lengths(
    splits: Mapping[str, list[PreferencePair]],
    template: PromptTemplate,
    length_filter: PromptLengthFilter | None,
    progress: bool,
    variant: str,
) -> tuple[dict[str, list[PreferencePair]], SourceCounts]:
    if length_filter is None:
        return dict(splits), {}
    kept: dict[str, list[PreferencePair]] = {}
    dropped: Counter[str] = Counter()
    for split, pairs in splits.items():
        kept[split] = []
        for pair in tqdm(pairs, desc=f"{variant}: measure {split}", unit=" pairs", disable=not progress or not pairs):
            if length_filter.fits(pair, template):
                kept[split].append(pair)
            else:
                dropped[pair.source] += 1
    return kept, dict(sorted(dropped.items()))


def _build_variant(
    options: BuildOptions,
    variant: str,
    template: PromptTemplate,
    splits: Mapping[str, list[PreferencePair]],
    length_filter: PromptLengthFilter | None,
    read: SourceCounts,
    dups: SourceCounts,
) -> VariantBuild:
    kept, too_long = _filter_lengths(splits, template, length_filter, options.progress, variant)
    wanted = [s for s in SPLITS if s != "distill" or options.distill_fraction > 0]
    for split in wanted:
        if not kept[split]:
            raise BuildError(_empty_split_message(split, variant, options, sum(map(len, splits.values()))))
    final = Path(options.out) / variant
    counts: dict[str, Any] = {"input_pairs": read, "dropped": {"duplicate": dups, "too_long": too_long},
                              "rows": {}, "chosen_position": {}, "chosen_position_total": {}, "multi_turn": {}}
    with staged_dir(final) as stage:
        files = {}
        for split in wanted:
            rows, positions = _rows(kept[split], split, template, variant, options.seed, options.progress)
            write_parquet(rows, stage / f"{split}.parquet")
            files[split] = final / f"{split}.parquet"
            counts["rows"][split] = dict(sorted(Counter(p.source for p in kept[split]).items()))
            counts["chosen_position"][split] = balance(kept[split], positions)
            counts["chosen_position_total"][split] = dict(sorted(Counter(positions.values()).items()))
            counts["multi_turn"][split] = sum(p.is_multi_turn for p in kept[split])
        meta = manifest.build_manifest(options, variant, template, counts, stage, wanted)
        meta.write(stage / manifest.MANIFEST_NAME)
    rows_per_split = {s: sum(counts["rows"][s].values()) for s in wanted}
    return VariantBuild(variant, final, files, final / manifest.MANIFEST_NAME, rows_per_split, template.version)


def _rows(
    pairs: Iterable[PreferencePair], split: str, template: PromptTemplate, variant: str, seed: int, progress: bool
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    pairs = list(pairs)
    positions = place(pairs, split=split, seed=seed)
    random.Random(f"order:{seed}:{split}").shuffle(pairs)  # mixed sources even if the trainer does not shuffle
    rows = [
        rl_row(pair, template=template, chosen_position=positions[pair.id], split=split, index=i,
               variant=variant, seed=seed)
        for i, pair in enumerate(tqdm(pairs, desc=f"{variant}: render {split}", unit=" rows", disable=not progress))
    ]
    return rows, positions


def _empty_split_message(split: str, variant: str, options: BuildOptions, total: int) -> str:
    knob = {"train": "--val-size/--distill-fraction", "val": "--val-size", "distill": "--distill-fraction"}[split]
    why = " after the length filter" if options.max_prompt_length else ""
    return (
        f"the {variant} {split} split is empty{why} ({total} pairs in all); "
        f"add pairs, adjust {knob}{' or raise --max-prompt-length' if why else ''}."
    )


def describe(options: BuildOptions) -> str:
    """What :func:`build` would write for ``options`` (the CLI prints this when run without arguments)."""
    inputs = ", ".join(spec.location for spec in options.inputs) or "(none given)"
    lines = [f"inputs: {inputs}", f"seed {options.seed}, val size {options.val_size}, "
             f"distill fraction {options.distill_fraction}"]
    for variant in options.variants:
        template = _template(options, variant)
        names = [s for s in SPLITS if s != "distill" or options.distill_fraction > 0]
        files = ", ".join(f"{s}.parquet" for s in names)
        folder = os.fspath(Path(options.out) / variant)
        lines.append(f"{folder}/: {files}, {manifest.MANIFEST_NAME} (prompt {template.version}, {template.origin})")
    return "\n".join(lines)
