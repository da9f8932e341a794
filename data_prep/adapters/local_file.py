"""Preference pairs from a local ``.jsonl``, ``.json`` or ``.parquet`` file.

Columns (keys):

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

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from data_prep.pairs import PairError, PreferencePair, make_pair, source_name_from

SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".parquet")
KNOWN_COLUMNS: frozenset[str] = frozenset({"id", "source", "prompt", "messages", "chosen", "rejected", "metadata"})
_PARQUET_BATCH = 1024


class InputFileError(DataPrepError):
    """A local input file cannot be read as preference pairs; the message names the file and the fix."""


def read_local_pairs(path: str | os.PathLike[str], source: str | None = None) -> Iterator[PreferencePair]:
    """Yield the pairs in ``path`` in file order. ``source`` names rows without a ``source`` column."""
    file = Path(path)
    name = os.fspath(path)
    if not file.is_file():
        raise InputFileError(f"input file {name!r} does not exist; check the path passed to --inputs.")
    if file.suffix.lower() not in SUFFIXES:
        raise InputFileError(f"input file {name!r} is not one of {SUFFIXES}; convert it to JSON lines or parquet.")
    default_source = source or source_name_from(file.stem)
    for number, row in _rows(file, name):
        yield _pair(row, number, name, default_source)


def _rows(file: Path, name: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet_rows(file, name)
        return
    if suffix == ".json":
        data = _load_json(file.read_text(encoding="utf-8"), name, "file")
        if not isinstance(data, list):
            raise InputFileError(f"input file {name!r} holds a JSON {type(data).__name__}; it must be a list of rows.")
        yield from enumerate(data, start=1)
        return
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, _load_json(line, name, f"line {number}")


def _parquet_rows(file: Path, name: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise InputFileError(f"input file {name!r} is not a readable parquet file ({err}); re-export it.") from err
    _check_columns(parquet.schema_arrow.names, name)
    number = 0
    for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _load_json(text: str, name: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputFileError(f"input file {name!r} {where} is not valid JSON ({err.msg}); fix or remove it.") from err


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
        raise InputFileError(
            f"input file {name!r}{where} has {problem}; columns found: {found}; expected 'prompt' or 'messages' "
            "plus 'chosen' and 'rejected' (optional: 'id', 'source', 'metadata')."
        )


def _pair(row: Mapping[str, Any], number: int, name: str, default_source: str) -> PreferencePair:
    if not isinstance(row, Mapping):
        raise InputFileError(f"input file {name!r} row {number} is a {type(row).__name__}; each row must be an object.")
    _check_columns(list(row), name, f" row {number}")
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise InputFileError(f"input file {name!r} row {number} has a non-object 'metadata'; make it a JSON object.")
    context = row["prompt"] if "prompt" in row else row["messages"]
    try:
        return make_pair(
            row.get("source") or default_source,
            context,
            row["chosen"],
            row["rejected"],
            pair_id=row.get("id"),
            metadata=metadata,
        )
    except PairError as err:
        raise InputFileError(f"input file {name!r} row {number}: {err}") from err
