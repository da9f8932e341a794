"""The benchmarks we report on: ONE identity table, :data:`BENCHMARKS` (name, hub id, revision, split,
prompt field), for the eval loaders and for decontamination, which reads the prompt fields to keep them out
of the training mix. RMB is on GitHub only (no license), so it has no hub name.

A benchmark is given as ``NAME=PATH`` (a .jsonl/.json/.parquet file, or a folder: every data file
below it, all splits, e.g. RMB's ``RMB_dataset`` tree of json files) or ``NAME=OWNER/REPO@COMMIT``
(a pinned hub dataset; ``NAME@COMMIT`` uses the hub name above). Benchmark text is never altered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.source_files import ResolvedFiles, SourceError, iter_rows, resolve


@dataclass(frozen=True)
class BenchmarkIdentity:
    """One benchmark: its name, hub dataset (None if not on the hub), pinned revision, split and prompt field."""

    name: str
    hub: str | None
    revision: str | None  # None: no pinned commit yet (eval records the rows' sha256 instead)
    split: str
    field: str
    conversation: bool = False  # the field is a list of messages; keep the user turns
    aliases: tuple[str, ...] = ()  # older spellings, still accepted


BENCHMARKS: dict[str, BenchmarkIdentity] = {b.name: b for b in (
    BenchmarkIdentity("rewardbench", "allenai/reward-bench", "d61ac5c97d0f2f7eb922da3c0b6bbaf614ae8d02", "filtered",
                      "prompt"),
    BenchmarkIdentity("rmbench", "THU-KEG/RM-Bench", None, "train", "prompt", aliases=("rm-bench",)),
    BenchmarkIdentity("rmb", None, None, "all", "conversation_input", conversation=True),
    BenchmarkIdentity("rewardbench2", "allenai/reward-bench-2", None, "test", "prompt"),
    BenchmarkIdentity("judgebench", "ScalerLab/JudgeBench", None, "gpt", "question"),
)}
_CANONICAL = {spelling: b.name for b in BENCHMARKS.values() for spelling in (b.name, *b.aliases)}


def canonical_name(name: str) -> str | None:
    """The benchmark's one name for ``name`` or one of its old spellings; None if it names no benchmark.

    >>> canonical_name("rm-bench"), canonical_name("rmbench"), canonical_name("mmlu")
    ('rmbench', 'rmbench', None)
    """
    return _CANONICAL.get(name)


def identity(name: str) -> BenchmarkIdentity:
    """The table's row for ``name`` (or an old spelling of it)."""
    return BENCHMARKS[_CANONICAL[name]]


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark to decontaminate against: its name, location and (for a hub name) revision."""

    name: str
    location: str
    revision: str | None = None


def parse_benchmark_spec(text: str) -> BenchmarkSpec:
    """``NAME=PATH``, ``NAME=OWNER/REPO@COMMIT`` or ``NAME@COMMIT`` (the benchmark's own hub name)."""
    name, sep, location = text.partition("=")
    revision = None
    if not sep:
        name, _, revision = text.partition("@")
        revision = revision or None
    if canonical_name(name) is None:
        raise SourceError(f"--decontaminate {text!r} names benchmark {name!r}; use one of {sorted(BENCHMARKS)}.")
    name = identity(name).name
    if not sep:
        hub = BENCHMARKS[name].hub
        if hub is None:
            raise SourceError(f"--decontaminate {text!r}: {name} is not on the hub; pass {name}=PATH to its files.")
        location = hub
    elif "@" in location and not Path(location).exists():
        location, _, revision = location.rpartition("@")
    if not location:
        raise SourceError(f"--decontaminate {text!r} has no location; write {name}=PATH or {name}=OWNER/REPO@COMMIT.")
    return BenchmarkSpec(name=name, location=location, revision=revision)


def resolve_benchmark(spec: BenchmarkSpec) -> ResolvedFiles:
    """The benchmark's data files (all splits)."""
    return resolve(spec.location, what=f"benchmark {spec.name}", fix=f"--decontaminate {spec.name}",
                   revision=spec.revision)


def benchmark_prompts(spec: BenchmarkSpec, resolved: ResolvedFiles) -> Iterator[list[str]]:
    """The client turns of every prompt of the benchmark, in file order."""
    fmt = identity(spec.name)
    what = f"benchmark {spec.name}"
    for number, row in enumerate(iter_rows(resolved.files, what), start=1):
        if fmt.field not in row:
            raise SourceError(
                f"{what}: row {number} of {spec.location!r} has no {fmt.field!r} field (fields: {sorted(row)}); "
                f"point --decontaminate {spec.name}=PATH at the benchmark's own files."
            )
        turns = _user_turns(row[fmt.field]) if fmt.conversation else _text(row[fmt.field])
        if turns:
            yield turns


def _text(value: Any) -> list[str]:
    return [value] if isinstance(value, str) and value.strip() else []


def _user_turns(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [m["content"] for m in value if isinstance(m, dict) and m.get("role") == "user"
            and isinstance(m.get("content"), str) and m["content"].strip()]
