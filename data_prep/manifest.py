"""The manifest written beside each variant's parquet files (``{out}/{variant}/manifest.json``).

It is an :class:`infra.run_metadata.RunMetadata`. Recipes validate against ``config``: ``variant``,
``tokenizer`` (null without a length filter), ``max_prompt_length`` (null unless the length filter
ran), ``chat_template_kwargs``; plus the split layout, the template and the split settings.
``counts`` holds pairs read and dropped per source, rows per split and source, the chosen-as-A/B
balance per split and source, and multi-turn rows per split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_prep.adapters import input_ref
from data_prep.prompts import PromptTemplate
from data_prep.writers import DATA_SOURCE_PREFIX
from infra.run_metadata import OutputRef, RunMetadata, git_commit, now_volatile

if TYPE_CHECKING:
    from data_prep.pipeline import BuildOptions

MANIFEST_NAME = "manifest.json"
TOOL = "data_prep.build_parquet"


def tool_version() -> str:
    """The installed project version (``unknown`` when run from an uninstalled tree)."""
    try:
        return importlib_metadata.version("rm-r1-recipe")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def build_manifest(
    options: BuildOptions,
    variant: str,
    template: PromptTemplate,
    counts: Mapping[str, Any],
    folder: Path,
    splits: Sequence[str],
) -> RunMetadata:
    """The manifest for one variant whose parquet files are already in ``folder``."""
    outputs = [
        OutputRef.for_file(folder / f"{split}.parquet", folder, rows=sum(counts["rows"][split].values()))
        for split in splits
    ]
    config = {
        "variant": variant,
        "tokenizer": options.tokenizer,
        "max_prompt_length": options.max_prompt_length,
        "chat_template_kwargs": dict(options.chat_template_kwargs),
        "splits": {split: f"{split}.parquet" for split in splits},
        "val_size": options.val_size,
        "distill_fraction": options.distill_fraction,
        "template": template.origin,
        "template_name": template.name,
        "template_sha256": template.sha256,
        "data_source_prefix": DATA_SOURCE_PREFIX,
    }
    return RunMetadata(
        tool=TOOL,
        tool_version=tool_version(),
        git_commit=git_commit(Path(__file__).resolve().parent),
        inputs=[input_ref(spec) for spec in options.inputs],
        prompt_version=template.version,
        seed=options.seed,
        config=config,
        counts=dict(counts),
        outputs=outputs,
        volatile=now_volatile(),
    )
