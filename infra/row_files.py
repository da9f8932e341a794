"""Rows of a local ``.jsonl``, ``.json`` or ``.parquet`` file: the one reader every package uses.

* ``.jsonl``: one JSON object per non-blank line (split on ``\\n`` only); places are ``line N``;
* ``.json``: a JSON list of objects (or JSON lines under a ``.json`` name); places are ``row N``;
* ``.parquet``: read in batches, so memory holds one batch, not the file; places are ``row N``.

A UTF-8 byte-order mark is skipped. Every way a file can be unreadable is one :class:`RowFileError`
(a :class:`~infra.cli_errors.UserError`) whose message names the file, the place and the fix: bytes
that are not UTF-8 (a latin-1 export, say), invalid JSON, an integer of more than 4,300 digits
(Python refuses to convert it), nesting too deep to parse, a row that is not an object, a damaged
parquet file. Callers put their own context in front (``source skywork: ...``).

>>> import json, pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> _ = path.write_text(json.dumps({"a": 1}) + "\\n\\n" + json.dumps({"a": 2}) + "\\n")
>>> list(iter_rows(path)), count_rows(path)
([('line 1', {'a': 1}), ('line 3', {'a': 2})], 2)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.cli_errors import UserError
from infra.user_json import BadJson, json_kind, parse_json

SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".parquet")
_BATCH = 1024  # parquet rows per read
_BOM = b"\xef\xbb\xbf"


class RowFileError(UserError):
    """A data file cannot be read as rows; the message names the file, the place and the fix."""


def iter_rows(path: str | os.PathLike[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(place, row)`` for every row of ``path`` in file order; raises :class:`RowFileError`."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise RowFileError(f"{_name(file)} is not one of {SUFFIXES}; convert it to JSON lines or parquet.")
    if file.is_dir():
        raise RowFileError(f"{_name(file)} is a folder, not a data file; pass the file itself.")
    if suffix == ".parquet":
        yield from _parquet_rows(file)
    elif suffix == ".jsonl":
        yield from _json_lines(file)
    else:
        yield from _json_file(file)


def count_rows(path: str | os.PathLike[str]) -> int:
    """How many rows :func:`iter_rows` yields (parquet from its metadata, without reading the data)."""
    file = Path(path)
    if file.suffix.lower() == ".parquet":
        return int(_parquet(file).metadata.num_rows)
    if file.suffix.lower() == ".jsonl":
        with file.open("rb") as handle:
            return sum(1 for line in handle if line.decode("utf-8", "replace").strip())
    return sum(1 for _ in iter_rows(file))


def columns(path: str | os.PathLike[str]) -> list[str]:
    """Column names: the parquet schema, or the first JSON row's keys (sorted); [] for a file without rows."""
    file = Path(path)
    if file.suffix.lower() == ".parquet":
        return list(_parquet(file).schema_arrow.names)
    first = next(iter_rows(file), None)
    return sorted(first[1]) if first else []


def _name(file: Path) -> str:
    return repr(os.fspath(file))


def _parquet(file: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file)
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise RowFileError(f"{_name(file)} is not a readable parquet file ({err}); re-export it.") from err


def _parquet_rows(file: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow as pa

    number = 0
    try:
        for batch in _parquet(file).iter_batches(batch_size=_BATCH):
            for row in batch.to_pylist():
                number += 1
                yield f"row {number}", row
    except (pa.ArrowException, OSError) as err:
        raise RowFileError(f"{_name(file)} is damaged after row {number} ({err}); re-export it.") from err


def _json_lines(file: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            place = f"line {number}"
            text = _decode(raw[len(_BOM):] if number == 1 and raw.startswith(_BOM) else raw, file, place)
            if text.strip():
                yield place, _object(_loads(text, file, place), file, place)


def _json_file(file: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    raw = file.read_bytes()
    text = _decode(raw[len(_BOM):] if raw.startswith(_BOM) else raw, file, "")
    try:
        data = parse_json(text, strict=False)
    except BadJson as err:
        cause = err.__cause__
        if isinstance(cause, json.JSONDecodeError) and cause.msg == "Extra data":  # JSON lines under a .json name
            yield from _json_lines(file)
            return
        raise _json_error(err, file, f"line {cause.lineno}" if isinstance(cause, json.JSONDecodeError) else "") \
            from err
    if not isinstance(data, list):
        raise RowFileError(f"{_name(file)} holds a JSON {json_kind(data)}; it must be a list of rows (objects).")
    for number, row in enumerate(data, start=1):
        yield f"row {number}", _object(row, file, f"row {number}")


def _decode(raw: bytes, file: Path, place: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        line = raw.count(b"\n", 0, err.start) + 1
        where = f" {place}" if place else f" line {line}"
        raise RowFileError(f"{_name(file)}{where} is not UTF-8 text (byte 0x{raw[err.start]:02x} at column "
                           f"{err.start - line_start + 1}); re-save the file as UTF-8.") from err


def _loads(text: str, file: Path, place: str) -> Any:
    try:
        return parse_json(text, strict=False)
    except BadJson as err:
        raise _json_error(err, file, place) from err


def _json_error(err: BadJson, file: Path, place: str) -> RowFileError:
    where = f"{_name(file)}{' ' + place if place else ''}"
    if isinstance(err.__cause__, json.JSONDecodeError):
        return RowFileError(f"{where} is not valid JSON ({err.__cause__.msg}); fix or remove it.")
    fix = "flatten the data" if "deeply" in str(err) else "write it as a string or drop it" if "digits" in str(err) \
        else "fix or remove it"
    return RowFileError(f"{where} {err}; {fix}.")


def _object(value: Any, file: Path, place: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RowFileError(f"{_name(file)} {place} is a JSON {json_kind(value)}; each row must be an object.")
    return value
