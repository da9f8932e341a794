"""Benchmark rows from a Hugging Face hub dataset (pinned revision) or a local file or folder.

Local: a ``.jsonl``, ``.json`` (a list of rows) or ``.parquet`` file, or a folder of them (for
instance a downloaded hub snapshot). In a folder, only the files of the split are read: a file
belongs to split S when its name starts with S, or one of its comma-separated ``key=value`` parts has
a value starting with S, in both cases followed by the end of the name or a character other than a
letter, digit or ``_`` (so ``data/filtered-00000-of-00001.parquet`` is split ``filtered``, and
JudgeBench's ``dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl`` is split ``gpt``). A folder
with no file of the split is refused, naming the files found; two splits are never merged.
Hub: the dataset's files at the revision through the one hub reader (:func:`infra.hub.snapshot`), then
read as a local folder with the same split rule (as the hub does, a snapshot whose files name no split
at all is split ``train``; where a split has parquet files, only those are read, never a second copy).
With ``HF_HUB_OFFLINE=1`` (or ``HF_DATASETS_OFFLINE=1``) only the local HF cache is read; a miss is one
sentence saying what to do.

The input is recorded with the sha256 of the rows as loaded (:func:`rows_sha256`), so two runs on the
same content carry the same hash whichever way it was read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.benchmark import Item, Loader
from eval.benchmarks.fields import every_row
from eval.errors import EvalError
from infra.hub import HUB_ID as _HUB_NAME  # one hub-id rule and one hub reader for every package
from infra.hub import HubUnavailable, snapshot
from infra.row_files import SUFFIXES, RowFileError, iter_rows
from infra.run_metadata import InputRef


def row_items(make: Callable[[Any, str], Item], what: str) -> Loader:
    """A benchmark's ``load``: the rows of :func:`load_located`, each ``make(row, place)`` with a place such as
    ``JudgeBench line 7 of x.jsonl`` (``what`` names the benchmark); every row refused is named in one error."""
    def load(source: str, split: str, revision: str | None) -> tuple[list[Item], InputRef]:
        rows, where, ref = load_located(source, split, revision)
        return every_row(zip(rows, [f"{what} {w}" for w in where], strict=True), make, f"{what} --data has"), ref
    return load


def load_located(source: str, split: str, revision: str | None) -> tuple[list[Any], list[str], InputRef]:
    """The rows of ``source`` (a local path or a hub dataset name), where each came from (``line 7 of x.jsonl``,
    ``row 3``) for messages, and the input reference for reports."""
    path = Path(source)
    if path.exists():
        rows, where = _local_rows(path, split)
        revision = None
    elif path.suffix.lower() in SUFFIXES or source.startswith((".", "/", "~")):
        raise EvalError(f"--data file {source!r} does not exist; check the path.")
    elif _HUB_NAME.match(source):
        try:
            folder = snapshot(source, revision, SUFFIXES)
        except HubUnavailable as err:
            offline = " in offline mode (HF_HUB_OFFLINE)" if err.offline else ""
            raise EvalError(f"could not load hub dataset {source!r} split {split!r} at revision {revision}{offline} "
                            f"({err.reason}); download it on a connected machine first (the same command caches "
                            "it), or pass a local copy with --data.") from err
        rows, where = _local_rows(folder, split, hub=True)
        revision = folder.name  # the snapshot's commit: what was read, even when no revision was pinned
    else:
        raise EvalError(f"--data {source!r} is neither an existing file or folder nor a hub dataset name; "
                        "fix the path.")
    if not rows:
        raise EvalError(f"--data {source!r} (split {split!r}) holds no rows; point it at the benchmark's data.")
    name = source if path.is_file() else f"{source}:{split}"  # a single file has no splits to name
    return rows, where, InputRef(name=name, revision=revision, sha256=checked_sha256(rows, where, "--data "))


def checked_sha256(rows: list[Any], where: list[str], prefix: str = "") -> str:
    """:func:`rows_sha256`, with a row holding a lone surrogate escape (``"\\ud800"``, not text) named by place."""
    try:
        return rows_sha256(rows)
    except UnicodeEncodeError:
        for row, place in zip(rows, where, strict=True):
            try:
                json.dumps(row, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as err:
                raise EvalError(f"{prefix}{place} holds a lone surrogate escape such as \\ud800, which is not text; "
                                "fix or drop that value.") from err
        raise


def rows_sha256(rows: list[dict[str, Any]]) -> str:
    """sha256 of the rows' content (keys sorted, every field length-prefixed), whatever format they came from.

    Strings are hashed as they are (the bulk of the bytes, and fast); other values as canonical JSON.
    """
    digest = hashlib.sha256(b"rows-sha256-v1")
    for row in rows:
        fields = []
        for key in sorted(row):
            value = row[key]
            text = "s" + value if isinstance(value, str) else "j" + json.dumps(value, sort_keys=True, default=str)
            fields.append(f"{len(key)}:{key}{len(text)}:{text}")  # lengths in characters: unambiguous
        digest.update(("\x1e" + "".join(fields)).encode("utf-8"))
    return digest.hexdigest()


def _local_rows(path: Path, split: str, hub: bool = False) -> tuple[list[Any], list[str]]:
    if path.is_file():
        return file_rows(path, path.name)
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise EvalError(f"--data folder {os.fspath(path)!r} has no {', '.join(SUFFIXES)} files; point it at the data.")
    chosen = [p for p in files if of_split(p.name, split)]
    if hub and not chosen and split == "train" and not any(of_split(p.name, s) for p in files for s in _SPLITS):
        chosen = files  # the hub's rule: files that name no split are the train split
    if hub and any(p.suffix == ".parquet" for p in chosen):
        chosen = [p for p in chosen if p.suffix == ".parquet"]  # the hub's own conversion, not a second copy
    if not chosen:
        found = ", ".join(repr(p.relative_to(path).as_posix()) for p in files[:5])
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        raise EvalError(f"--data folder {os.fspath(path)!r} has no file of split {split!r} (found {found}{more}); "
                        "pass --split naming one of them, or the file itself with --data.")
    rows: list[Any] = []
    where: list[str] = []
    for file in chosen:
        read, places = file_rows(file, file.relative_to(path).as_posix())
        rows += read
        where += places
    return rows, where


_SPLITS = ("train", "test", "validation", "filtered", "raw", "dev")  # names that make a file another split's


def of_split(name: str, split: str) -> bool:
    """True if the file ``name`` belongs to ``split`` (the rule in the module docstring).

    >>> of_split("dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl", "gpt")
    True
    >>> of_split("test_hard-00000.parquet", "test"), of_split("test-00000.parquet", "test")
    (False, True)
    """
    stem = name.rsplit(".", 1)[0]
    candidates = [stem] + [part.partition("=")[2] for part in stem.split(",") if "=" in part]
    follows = re.compile(re.escape(split) + r"(?![A-Za-z0-9_])")
    return any(follows.match(text) for text in candidates)


def file_rows(file: Path, shown: str, what: str = "--data file") -> tuple[list[Any], list[str]]:
    """Every row of one local file and its place (``line 7 of x.jsonl``), read by the one shared reader."""
    rows: list[Any] = []
    where: list[str] = []
    try:
        for place, row in iter_rows(file):
            rows.append(row)
            where.append(f"{place} of {shown}")
    except RowFileError as err:
        raise EvalError(f"{what} {err}") from err
    except OSError as err:  # unreadable (permissions, a vanished mount): an input problem, not a failed write
        raise EvalError(f"{what} {os.fspath(file)!r} cannot be read ({err.strerror or err}); check the path "
                        "and its permissions.") from err
    return rows, where
