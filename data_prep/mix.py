"""Training mixes are data: a small yaml file lists the sources, how each is read, sampled and filtered.

Built-in mixes live in ``data_prep/mixes/<name>.yaml`` (``rm_r1`` is the paper's); ``--mix`` also
takes a path to a yaml file of the same shape::

    name: rm_r1
    description: ...
    sources:
      - name: code                      # pairs become data_source rm_r1/code
        adapter: code_preference_pairs  # how rows in the hub schema become pairs
        hub: Vezora/Code-Preference-Pairs
        revision: null                  # a commit hash, or null: then --revision or local files are required
        split: train
        exclude_subsets: []             # values of the adapter's subset column to leave out
        sample: {size: 8000, seed: 42}  # optional: datasets' shuffle(seed).select(range(size))
        paper_pairs: 8000               # optional: the published count, for comparison

Command-line overrides (``--source NAME=PATH``, ``--revision NAME=COMMIT``) go through
:func:`with_overrides`; the manifest records the mix file's hash and every source's settings.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from data_prep.adapters.hub import ADAPTERS, MixSource, Sample
from data_prep.errors import DataPrepError
from data_prep.pairs import PairError, check_source_name

__all__ = ["Mix", "MixError", "MixSource", "Sample", "builtin_mixes", "load_mix", "parse_mix", "with_overrides"]

_SOURCE_KEYS = {"name", "adapter", "hub", "revision", "split", "exclude_subsets", "sample", "paper_pairs"}
_MIX_KEYS = {"name", "description", "sources"}


class MixError(DataPrepError):
    """A mix file or an override is unusable; the message names it and the fix."""


@dataclass(frozen=True)
class Mix:
    """A named list of sources, with where the definition came from and its content hash."""

    name: str
    description: str
    sources: tuple[MixSource, ...]
    origin: str
    sha256: str


def builtin_mixes() -> list[str]:
    """Names of the shipped mixes."""
    folder = resources.files("data_prep").joinpath("mixes")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mix(name_or_path: str | os.PathLike[str]) -> Mix:
    """A built-in mix by name, or a mix yaml file."""
    text_name = os.fspath(name_or_path)
    if text_name in builtin_mixes():
        text = (resources.files("data_prep") / "mixes" / f"{text_name}.yaml").read_text(encoding="utf-8")
        return parse_mix(text, origin=f"builtin:{text_name}")
    path = Path(text_name)
    if not path.is_file():
        raise MixError(f"mix {text_name!r} is neither a built-in mix {builtin_mixes()} nor a yaml file; "
                       "pass one of them.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise MixError(f"mix {text_name!r} is not UTF-8 text; re-save it as UTF-8.") from err
    return parse_mix(text, origin=text_name)


def parse_mix(text: str, origin: str) -> Mix:
    """Parse and validate mix yaml text."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise MixError(f"mix {origin} is not valid yaml ({' '.join(str(err).split())[:200]}); fix the file.") from err
    except RecursionError as err:
        raise MixError(f"mix {origin} nests too deeply to read; a mix is a flat list of sources.") from err
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list) or not data["sources"]:
        raise MixError(f"mix {origin} needs a non-empty 'sources' list; see data_prep/mixes/rm_r1.yaml.")
    _no_unknown(data, _MIX_KEYS, f"mix {origin}")
    sources = tuple(_source(item, f"mix {origin} source {i + 1}") for i, item in enumerate(data["sources"]))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise MixError(f"mix {origin} names a source twice ({names}); give every source its own name.")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Mix(str(data.get("name") or Path(origin).stem), str(data.get("description") or ""), sources, origin, digest)


def _source(item: Any, where: str) -> MixSource:
    if not isinstance(item, dict):
        raise MixError(f"{where} is a {type(item).__name__}; each source is a mapping with name, adapter and hub.")
    _no_unknown(item, _SOURCE_KEYS, where)
    missing = [k for k in ("name", "adapter", "hub") if not item.get(k)]
    if missing:
        raise MixError(f"{where} lacks {missing}; every source needs a name, an adapter and a hub name.")
    if item["adapter"] not in ADAPTERS:
        raise MixError(f"{where} uses adapter {item['adapter']!r}; pick one of {sorted(ADAPTERS)}.")
    try:
        name = check_source_name(str(item["name"]))
    except PairError as err:
        raise MixError(f"{where}: {err}") from err
    sample = item.get("sample")
    if sample is not None:
        if not isinstance(sample, dict) or set(sample) != {"size", "seed"} or not all(
                isinstance(sample[k], int) and sample[k] >= 0 for k in ("size", "seed")):
            raise MixError(f"{where} has sample {sample!r}; write it as {{size: N, seed: S}} with whole numbers.")
        sample = Sample(size=sample["size"], seed=sample["seed"])
    revision = item.get("revision")
    return MixSource(
        name=name, adapter=item["adapter"], hub=str(item["hub"]),
        revision=str(revision) if revision is not None else None, split=str(item.get("split") or "train"),
        exclude_subsets=tuple(str(s) for s in item.get("exclude_subsets") or ()), sample=sample,
        paper_pairs=item.get("paper_pairs"),
    )


def _no_unknown(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise MixError(f"{where} has unknown keys {unknown}; use only {sorted(known)}.")


def with_overrides(mix: Mix, locations: Mapping[str, str], revisions: Mapping[str, str]) -> Mix:
    """The mix with ``--source NAME=PATH`` and ``--revision NAME=COMMIT`` applied."""
    names = [s.name for s in mix.sources]
    for flag, given in (("--source", locations), ("--revision", revisions)):
        if unknown := sorted(set(given) - set(names)):
            raise MixError(f"{flag} names {unknown}, which mix {mix.name!r} does not have; its sources are {names}.")
    sources = tuple(
        replace(s, location=locations.get(s.name, s.location), revision=revisions.get(s.name, s.revision))
        for s in mix.sources
    )
    return replace(mix, sources=sources)

