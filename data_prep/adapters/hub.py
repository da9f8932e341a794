"""Hub-schema sources of a mix: rows of a dataset (hub name or local copy) to pairs or counted drops.

:data:`ADAPTERS` is the one table of hub schemas; each entry names the dataset, its required columns,
its subset column and a ``convert(row)`` giving (conversation, chosen, rejected): ``skywork`` (whole
conversations sharing the prompt turns), ``code_preference_pairs`` (strings) and ``math_step_dpo`` (each
answer is ``initial_reason_steps`` + its ``full_*`` continuation).

The rest is what they share: finding the files, the seeded sample, excluded subsets, and sorting
failures into ``malformed`` and ``empty`` drops. Every row read yields exactly one item, so the ledger
can account for all of them. :class:`MixSource` lives here (not in :mod:`data_prep.mix`, which parses
the yaml that lists sources) so that this module does not import the module that validates against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from data_prep.cleaning import Dropped
from data_prep.pairs import PairError, PreferencePair, make_pair, split_shared_prefix
from data_prep.source_files import ResolvedFiles, check_columns, count_rows, iter_rows, resolve

Converted = tuple[Any, Any, Any]  # (conversation, chosen, rejected) as make_pair takes them


class RowProblem(Exception):
    """``RowProblem(reason, detail)``: a row dropped as ``malformed`` or ``empty`` (never fatal)."""


@dataclass(frozen=True)
class Sample:
    """Keep ``size`` rows: the first of a seeded permutation, exactly as ``datasets`` shuffles."""

    size: int
    seed: int


@dataclass(frozen=True)
class MixSource:
    """One source of a mix. ``location`` (a local path or hub name) overrides ``hub`` when set."""

    name: str
    adapter: str
    hub: str
    revision: str | None = None
    split: str = "train"
    exclude_subsets: tuple[str, ...] = ()
    sample: Sample | None = None
    paper_pairs: int | None = None
    location: str | None = None

    @property
    def where(self) -> str:
        """Where the rows are read from: the override, else the hub name."""
        return self.location or self.hub

    def describe(self) -> dict[str, Any]:
        """Plain JSON settings for the manifest."""
        return asdict(self) | {"exclude_subsets": list(self.exclude_subsets)}


@dataclass(frozen=True)
class HubAdapter:
    """How one hub schema becomes pairs."""

    name: str
    hub: str
    columns: tuple[str, ...]
    subset_column: str | None
    convert: Callable[[Mapping[str, Any]], Converted]


def text_field(row: Mapping[str, Any], column: str) -> str:
    """``row[column]`` if it is a string; a non-string is a malformed row."""
    value = row.get(column)
    if not isinstance(value, str):
        raise RowProblem("malformed", f"{column} is {type(value).__name__}, not text")
    return value


def _skywork(row: Mapping[str, Any]) -> Converted:
    # Single- and multi-turn rows both occur; the shared turns become the pair's conversation.
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if not isinstance(chosen, list) or not isinstance(rejected, list):
        raise RowProblem("malformed", "chosen and rejected must be lists of messages")
    try:
        conversation, chosen_tail, rejected_tail = split_shared_prefix(chosen, rejected)
    except PairError as err:
        raise RowProblem("malformed", str(err)) from err
    if not conversation:
        raise RowProblem("malformed", "chosen and rejected share no client turn")
    return conversation, chosen_tail, rejected_tail


def _code_preference(row: Mapping[str, Any]) -> Converted:
    return text_field(row, "input"), text_field(row, "accepted"), text_field(row, "rejected")  # empty: row_to_pair


def _math_step_dpo(row: Mapping[str, Any]) -> Converted:
    # As upstream, each answer is the shared correct steps + its continuation (a missing prefix is empty).
    prompt = text_field(row, "prompt")
    prefix = "" if row.get("initial_reason_steps") is None else text_field(row, "initial_reason_steps")
    chosen, rejected = text_field(row, "full_chosen"), text_field(row, "full_rejected")
    if not chosen.strip() or not rejected.strip():
        raise RowProblem("empty", "full_chosen or full_rejected is empty")
    return prompt, prefix + chosen, prefix + rejected


ADAPTERS: dict[str, HubAdapter] = {a.name: a for a in (
    HubAdapter("skywork", "Skywork/Skywork-Reward-Preference-80K-v0.2", ("chosen", "rejected", "source"),
               "source", _skywork),
    HubAdapter("code_preference_pairs", "Vezora/Code-Preference-Pairs", ("input", "accepted", "rejected"),
               None, _code_preference),
    HubAdapter("math_step_dpo", "xinlai/Math-Step-DPO-10K",
               ("prompt", "initial_reason_steps", "full_chosen", "full_rejected"), "dataset", _math_step_dpo),
)}


def sampled_rows(total: int, sample: Sample) -> set[int]:
    """Row indices kept by ``sample`` out of ``total``: ``datasets``' ``shuffle(seed).select(range(size))``.

    ``datasets`` shuffles with ``numpy.random.default_rng(seed).permutation(len(dataset))``; taking the
    first ``size`` entries of the same permutation picks the same rows as upstream did.
    """
    import numpy as np

    permutation = np.random.default_rng(sample.seed).permutation(total)
    return {int(i) for i in permutation[: sample.size]}


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
        return Dropped(source, *problem.args)
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
