"""The manifest written beside each variant's parquet files (``{out}/{variant}/manifest.json``).

It is an :class:`infra.run_metadata.RunMetadata`. Recipes validate against ``config``: ``variant``,
``tokenizer`` (null without a length filter; a hub name, a path relative to the working directory or
a folder's name, never an absolute path), ``max_prompt_length`` (null unless the length filter ran),
``chat_template_kwargs``; plus ``tokenizer_sha256`` (of the tokenizer's files), the split layout, the
template, the split settings, the mix and its sources (requested and resolved revisions, sampling,
excluded subsets), the cleaning and neutralisation versions and the decontamination settings.
``inputs`` lists every file read with its sha256 (and hub commit). ``counts``:

* ``input_pairs``: rows read per source (every input row, whatever became of it);
* ``dropped``: ``{reason: {source: n}}`` for every reason in :data:`data_prep.cleaning.DROP_REASONS`;
* ``too_long_multi_turn``: of the ``too_long`` drops, the multi-turn pairs, per source;
* ``prompt_tokens``: judge-prompt tokens of every measured pair: ``min``, ``median``, ``p99``, ``max``
  (nearest rank), ``pairs``, ``limit`` and ``over_limit`` (null without ``--tokenizer``);
* ``accounting``: per source ``read``, ``dropped`` and ``kept`` with read == dropped + kept;
* ``neutralised``: candidates and conversations whose judge markup was broken, per source;
* ``decontamination``: per benchmark, prompts indexed and pairs matched (exact / n-gram);
* ``rows``, ``chosen_position`` (A/B balance per split and source), ``chosen_position_total``,
  ``multi_turn``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.cleaning import CLEANING_VERSION
from data_prep.collect import Collected
from data_prep.neutralise import NEUTRALISE_VERSION
from data_prep.options import BuildOptions
from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate
from data_prep.writers import DATA_SOURCE_PREFIX
from infra.run_metadata import OutputRef, RunMetadata, git_commit, now_volatile
from infra.versions import tool_version
from reward_fns import LABELS

__all__ = ["MANIFEST_NAME", "TOOL", "add_accounting", "add_split_counts", "build_manifest"]
MANIFEST_NAME = "manifest.json"
TOOL = "data_prep.build_parquet"


def add_split_counts(counts: dict[str, Any], split: str, pairs: Iterable[PreferencePair], positions: Mapping[str, str],
                     ) -> None:
    """Rows per source, A/B balance (chosen as A / as B, per source and in all) and multi-turn rows of a split."""
    pairs = list(pairs)
    counts["rows"][split] = dict(sorted(Counter(p.source for p in pairs).items()))
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in pairs:
        by_source[pair.source][positions[pair.id]] += 1
    counts["chosen_position"][split] = {s: {label: c[label] for label in LABELS} for s, c in sorted(by_source.items())}
    counts["chosen_position_total"][split] = dict(sorted(Counter(positions[p.id] for p in pairs).items()))
    counts["multi_turn"][split] = sum(p.is_multi_turn for p in pairs)


def add_accounting(counts: dict[str, Any]) -> None:
    """Per source: rows read, dropped and kept; raises RuntimeError (a bug, not bad input) if they do not add up."""
    accounting = {}
    for source, read in counts["input_pairs"].items():
        dropped = sum(by_source.get(source, 0) for by_source in counts["dropped"].values())
        kept = sum(rows.get(source, 0) for rows in counts["rows"].values())
        if read != dropped + kept:
            raise RuntimeError(f"source {source!r}: {read} rows read but {dropped} dropped + {kept} kept; "
                             "this is a bug in the data builder, please report it.")
        accounting[source] = {"read": read, "dropped": dropped, "kept": kept}
    counts["accounting"] = accounting


def build_manifest(options: BuildOptions, variant: str, template: PromptTemplate, counts: Mapping[str, Any],
                   folder: Path, splits: Sequence[str], collected: Collected,
                   tokenizer: Mapping[str, str | None]) -> RunMetadata:
    """The manifest for one variant whose parquet files are already in ``folder``."""
    outputs = [OutputRef.for_file(folder / f"{split}.parquet", folder, rows=sum(counts["rows"][split].values()))
               for split in splits]
    config = {
        "variant": variant,
        "tokenizer": tokenizer["name"],
        "tokenizer_sha256": tokenizer["sha256"],
        "max_prompt_length": options.max_prompt_length,
        "chat_template_kwargs": dict(options.chat_template_kwargs),
        "splits": {split: f"{split}.parquet" for split in splits},
        "val_size": options.val_size,
        "distill_fraction": options.distill_fraction,
        "template": template.origin,
        "template_name": template.name,
        "template_sha256": template.sha256,
        "data_source_prefix": DATA_SOURCE_PREFIX,
        "mix": {"name": mix.name, "origin": mix.origin, "sha256": mix.sha256, "description": mix.description}
        if (mix := options.mix) else None,
        "sources": collected.sources,
        "cleaning": {"version": CLEANING_VERSION, "neutralise": NEUTRALISE_VERSION},
        "decontamination": {k: v for k, v in decontamination.items() if k != "counts"}
        if (decontamination := collected.decontamination) is not None else None,
        "adversarial": collected.adversarial,
    }
    return RunMetadata(tool=TOOL, tool_version=tool_version(), git_commit=git_commit(Path(__file__).resolve().parent),
                       inputs=list(collected.inputs), prompt_version=template.version, seed=options.seed,
                       config=config, counts=dict(counts), outputs=outputs, volatile=now_volatile())
