"""Where a dataset's rows live: a local file, a local folder in the hub's layout, or a hub name.

Local layout (the same rule for a downloaded hub snapshot):

* a file: ``.parquet``, ``.jsonl`` or ``.json`` (a JSON list of rows, or JSON lines);
* a folder: every such file below it (hidden folders and ``dataset_info*.json``-style metadata
  skipped), read in sorted path order; with a split name, only the files named for it
  (``data/train-00000-of-00001.parquet``, ``train.jsonl``, ``train/part-0.parquet``) if there are any.

A hub name (``owner/name``) needs a pinned revision. It is fetched with ``huggingface_hub`` into the
usual cache; with ``HF_HUB_OFFLINE=1`` (or ``HF_DATASETS_OFFLINE=1``) only the cache is used, and a
name that is not cached is a one-sentence error saying how to point at local files instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from infra import row_files
from infra.hub import HubUnavailable, looks_like_hub_id, snapshot
from infra.run_metadata import InputRef, sha256_file

DATA_SUFFIXES: tuple[str, ...] = (".parquet", ".jsonl", ".json")
_METADATA = re.compile(r"^(dataset_infos?|dataset_dict|state|config|\..*)\.json$")


class SourceError(DataPrepError):
    """A dataset cannot be found or read; the message names it and the fix."""


@dataclass(frozen=True)
class ResolvedFiles:
    """The data files of one dataset and how the manifest records them."""

    name: str  # the location as given (path or hub name)
    files: tuple[Path, ...]
    revision: str | None  # the hub commit actually read (None for local files)
    sha256: str  # of the file (or of every file's path and hash, for a folder)

    @property
    def input_ref(self) -> InputRef:
        return InputRef(name=self.name, revision=self.revision, sha256=self.sha256)


def resolve(location: str, *, what: str, fix: str, revision: str | None = None, split: str | None = None,
            revision_fix: str | None = None) -> ResolvedFiles:
    """Find the data files for ``location``; ``what`` names it in errors and ``fix`` is the flag to use.

    ``fix`` is a flag prefix such as ``--source skywork``; ``revision_fix`` the flag that pins a revision.
    """
    path = Path(location)
    if path.exists():
        root = path
        files = tuple(data_files(path, split)) if path.is_dir() else (path,)
        if path.is_file() and path.suffix.lower() not in DATA_SUFFIXES:
            raise SourceError(f"{what}: {location!r} is not one of {DATA_SUFFIXES}; convert it or pass a folder.")
        resolved_revision = None
    elif looks_like_hub_id(location) and not location.lower().endswith(DATA_SUFFIXES):  # a missing file is missing
        root, resolved_revision = _snapshot(location, revision, what, fix, revision_fix)
        files = tuple(data_files(root, split))
    else:
        raise SourceError(f"{what}: {location!r} does not exist; pass an existing file or folder with {fix}=PATH.")
    if not files:
        raise SourceError(
            f"{what}: {location!r} holds no {'/'.join(DATA_SUFFIXES)} data files"
            f"{f' for split {split!r}' if split else ''}; point {fix}=PATH at the dataset's files."
        )
    return ResolvedFiles(name=location, files=files, revision=resolved_revision, sha256=files_sha256(root, files))


def data_files(root: Path, split: str | None = None) -> list[Path]:
    """Data files under ``root`` in sorted order; only the split's files when some are named for it."""
    found = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
         and not _METADATA.match(p.name) and not any(part.startswith(".") for part in p.relative_to(root).parts)),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if split is None:
        return found
    named = [p for p in found if p.name.startswith(split) or split in p.relative_to(root).parts[:-1]]
    return named or found


def files_sha256(root: Path, files: Sequence[Path]) -> str:
    """sha256 of a file, or of every file's path (relative to the folder ``root``) and sha256, one per line."""
    if root.is_file():
        return sha256_file(root)
    lines = "".join(f"{f.relative_to(root).as_posix()}\t{sha256_file(f)}\n" for f in files)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _snapshot(name: str, revision: str | None, what: str, fix: str, revision_fix: str | None) -> tuple[Path, str]:
    if not revision:
        pin = (f"pass {revision_fix}=COMMIT (the dataset's commit hash)" if revision_fix
               else f"write {fix}={name}@COMMIT (the dataset's commit hash)")
        raise SourceError(f"{what}: hub dataset {name!r} needs a pinned revision; {pin} or local files with "
                          f"{fix}=PATH.")
    try:
        folder = snapshot(name, revision, DATA_SUFFIXES)
    except HubUnavailable as err:
        if err.offline:
            raise SourceError(
                f"{what}: hub dataset {name!r} at revision {revision!r} is not in the local cache and downloads are "
                f"off (HF_HUB_OFFLINE=1); fetch it on a connected machine (huggingface-cli download --repo-type "
                f"dataset {name} --revision {revision} --local-dir DIR) and pass {fix}=DIR."
            ) from err
        raise SourceError(f"{what}: could not fetch hub dataset {name!r} at revision {revision!r} ({err.reason}); "
                          f"check the name and revision or pass {fix}=PATH.") from err
    return folder, folder.name


def iter_rows(files: Sequence[Path], what: str) -> Iterator[dict[str, Any]]:
    """Every row of ``files`` in order, as plain dicts (parquet is read in batches: memory stays flat)."""
    for file in files:
        with _as_source_error(what):
            for _, row in row_files.iter_rows(file):
                yield row


def count_rows(files: Sequence[Path], what: str) -> int:
    """How many rows :func:`iter_rows` yields (parquet from its metadata, without reading the data)."""
    with _as_source_error(what):
        return sum(row_files.count_rows(file) for file in files)


def columns(files: Sequence[Path], what: str) -> list[str]:
    """Column names of the first file (parquet schema, or the first JSON row's keys)."""
    with _as_source_error(what):
        return row_files.columns(files[0])


@contextlib.contextmanager
def _as_source_error(what: str) -> Iterator[None]:
    try:
        yield
    except row_files.RowFileError as err:
        raise SourceError(f"{what}: {err}") from err


def check_columns(files: Sequence[Path], required: Sequence[str], what: str, fix: str) -> None:
    """Raise :class:`SourceError` naming the file and its columns if a required column is missing."""
    found = columns(files, what)
    missing = [c for c in required if c not in found]
    if missing:
        raise SourceError(
            f"{what}: {os.fspath(files[0])!r} lacks columns {missing} (columns found: {sorted(found)}); "
            f"point {fix}=PATH at the dataset in its hub schema."
        )

