"""Hub-schema sources of a mix: rows of a dataset (hub name or local copy) to pairs or counted drops.

Each adapter module (:mod:`~data_prep.adapters.skywork`, :mod:`~data_prep.adapters.code_preference`,
:mod:`~data_prep.adapters.math_step_dpo`) names its hub dataset, required columns, optional subset
column and a ``convert(row)`` giving (conversation, chosen, rejected). This module adds what they share:
finding the files, the seeded sample, excluded subsets, and sorting failures into ``malformed`` and
``empty`` drops. Every row read yields exactly one item, so the ledger can account for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from data_prep.adapters import code_preference, math_step_dpo, skywork
from data_prep.adapters.row_problem import RowProblem
from data_prep.cleaning import Dropped
from data_prep.mix import MixSource, sampled_rows
from data_prep.pairs import PairError, PreferencePair, make_pair
from data_prep.source_files import ResolvedFiles, check_columns, count_rows, iter_rows, resolve


@dataclass(frozen=True)
class HubAdapter:
    """How one hub schema becomes pairs."""

    name: str
    hub: str
    columns: tuple[str, ...]
    subset_column: str | None
    convert: Callable[[Mapping[str, Any]], tuple[Any, Any, Any]]


def _adapter(name: str, module: ModuleType) -> HubAdapter:
    return HubAdapter(name, module.HUB, module.COLUMNS, module.SUBSET_COLUMN, module.convert)


ADAPTERS: dict[str, HubAdapter] = {
    "skywork": _adapter("skywork", skywork),
    "code_preference_pairs": _adapter("code_preference_pairs", code_preference),
    "math_step_dpo": _adapter("math_step_dpo", math_step_dpo),
}


def resolve_source(source: MixSource) -> ResolvedFiles:
    """The source's data files (local, or fetched at its pinned revision), columns checked."""
    what, fix = f"source {source.name}", f"--source {source.name}"
    resolved = resolve(source.where, what=what, fix=fix, revision=source.revision, split=source.split,
                       revision_fix=f"--revision {source.name}")
    check_columns(resolved.files, ADAPTERS[source.adapter].columns, what, fix)
    return resolved


def source_items(source: MixSource, resolved: ResolvedFiles) -> Iterator[PreferencePair | Dropped]:
    """One item per row of ``resolved``: the pair, or why the row was dropped."""
    adapter = ADAPTERS[source.adapter]
    what = f"source {source.name}"
    keep = sampled_rows(count_rows(resolved.files, what), source.sample) if source.sample else None
    excluded = frozenset(source.exclude_subsets)
    for index, row in enumerate(iter_rows(resolved.files, what)):
        if keep is not None and index not in keep:
            yield Dropped(source.name, "not_sampled")
            continue
        subset = row.get(adapter.subset_column) if adapter.subset_column else None
        if subset is not None and str(subset) in excluded:
            yield Dropped(source.name, "excluded_subset", str(subset))
            continue
        yield row_to_pair(adapter, row, source.name, index, subset)


def row_to_pair(
    adapter: HubAdapter, row: Mapping[str, Any], source: str, index: int, subset: Any = None
) -> PreferencePair | Dropped:
    """Convert one row; problems become ``malformed`` or ``empty`` drops instead of errors."""
    try:
        conversation, chosen, rejected = adapter.convert(row)
    except RowProblem as problem:
        return Dropped(source, problem.reason, problem.detail)
    if _has_empty(conversation) or _has_empty(chosen) or _has_empty(rejected):
        return Dropped(source, "empty", "an empty prompt or answer")
    metadata: dict[str, Any] = {"row": index}
    if subset is not None:
        metadata["subset"] = str(subset)
    try:
        return make_pair(source, conversation, chosen, rejected, metadata=metadata)
    except PairError as err:
        return Dropped(source, "malformed", str(err))


def _has_empty(value: str | Sequence[Mapping[str, Any]]) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return not value or any(isinstance(m, Mapping) and isinstance(m.get("content"), str)
                            and not m["content"].strip() for m in value)
