"""Source adapters: each input becomes a stream of :class:`~data_prep.pairs.PreferencePair`.

Two kinds, read by :mod:`data_prep.collect`: the hub-schema sources of a mix (Skywork,
Code-Preference-Pairs, Math-Step-DPO), one table in :mod:`data_prep.adapters.hub`, read leniently (a
bad row is a counted drop); and ``--inputs`` files (:class:`InputSpec`), read strictly here by
:func:`read_local_pairs` (a bad row is an error naming the file). Their columns (keys):

* ``prompt`` (a string: one client message) OR ``messages`` (a list of ``{role, content}``: the
  conversation up to and including the client's last message);
* ``chosen`` and ``rejected``: a string (one assistant reply) or a list of messages (the turns after
  the conversation; a list that repeats the conversation first is cut back to what follows it);
* optional ``id`` (else a content hash), ``source`` (else the name given with the file, else the file
  name) and ``metadata`` (a JSON object carried into every row's ``extra_info``).

Any other column, or a missing one, is an error naming the file and the columns it has: an extra
field belongs under ``metadata``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from data_prep.pairs import PairError, PreferencePair, check_source_name, make_pair, source_name_from
from infra import row_files

__all__ = ["InputFileError", "InputSpec", "parse_input_spec", "read_local_pairs"]
KNOWN_COLUMNS: frozenset[str] = frozenset({"id", "source", "prompt", "messages", "chosen", "rejected", "metadata"})


class InputFileError(DataPrepError):
    """A local input file cannot be read as preference pairs; the message names the file and the fix."""


@dataclass(frozen=True)
class InputSpec:
    """One input: where it is and, optionally, the source name its rows get (else per row / file name)."""

    location: str
    source: str | None = None


def parse_input_spec(text: str) -> InputSpec:
    """``PATH`` or ``SOURCE=PATH`` (e.g. ``skywork=data/skywork.jsonl``) as given to ``--inputs``."""
    name, sep, rest = text.partition("=")
    if sep and name and "/" not in name and os.sep not in name and not Path(text).exists():
        try:
            return InputSpec(location=rest, source=check_source_name(name))
        except PairError as err:
            raise InputFileError(f"input {text!r} names source {name!r}, which is not valid: {err}") from err
    return InputSpec(location=text)


def read_local_pairs(path: str | os.PathLike[str], source: str | None = None) -> Iterator[PreferencePair]:
    """Yield the pairs in ``path`` in file order. ``source`` names rows without a ``source`` column."""
    file = Path(path)
    name = os.fspath(path)
    if file.is_dir():
        raise InputFileError(f"input {name!r} is a folder; pass its .jsonl/.json/.parquet files to --inputs.")
    if not file.is_file():
        raise InputFileError(f"input file {name!r} does not exist; check the path passed to --inputs.")
    default_source = source or source_name_from(file.stem)
    try:
        if file.suffix.lower() == ".parquet":
            _check_columns(row_files.columns(file), name)
        for place, row in row_files.iter_rows(file):
            yield _pair(row, place, name, default_source)
    except row_files.RowFileError as err:
        raise InputFileError(f"input file {err}") from err


def _check_columns(columns: list[str] | Any, name: str, where: str = "") -> None:
    found = sorted(columns)
    unknown = sorted(set(found) - KNOWN_COLUMNS)
    has_context = ("prompt" in found) != ("messages" in found)
    missing = [c for c in ("chosen", "rejected") if c not in found]
    if unknown or missing or not has_context:
        problem = (
            f"unknown columns {unknown} (put extra fields under 'metadata')" if unknown
            else "both 'prompt' and 'messages'" if "prompt" in found and "messages" in found
            else f"no {' or '.join(missing) or 'prompt or messages'} column"
        )
        raise InputFileError(f"input file {name!r}{where} has {problem}; columns found: {found}; expected 'prompt' or "
                             "'messages' plus 'chosen' and 'rejected' (optional: 'id', 'source', 'metadata').")


def _pair(row: Mapping[str, Any], place: str, name: str, default_source: str) -> PreferencePair:
    _check_columns(list(row), name, f" {place}")
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise InputFileError(f"input file {name!r} {place} has a non-object 'metadata'; make it a JSON object.")
    context = row["prompt"] if "prompt" in row else row["messages"]
    try:
        return make_pair(row.get("source") or default_source, context, row["chosen"], row["rejected"],
                         pair_id=row.get("id"), metadata=metadata)
    except PairError as err:
        raise InputFileError(f"input file {name!r} {place}: {err}") from err
