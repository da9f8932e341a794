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

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from infra.run_metadata import InputRef, sha256_file

DATA_SUFFIXES: tuple[str, ...] = (".parquet", ".jsonl", ".json")
_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_METADATA = re.compile(r"^(dataset_infos?|dataset_dict|state|config|\..*)\.json$")
_PARQUET_BATCH = 1024


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


def is_offline() -> bool:
    """True when the environment forbids hub downloads."""
    return any(os.environ.get(k, "").strip().lower() in {"1", "true", "yes", "on"}
               for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def looks_like_hub_name(location: str) -> bool:
    """``owner/name`` with no data-file suffix (a missing local file is reported as missing, not fetched)."""
    return bool(_HUB_NAME.match(location)) and not location.lower().endswith(DATA_SUFFIXES)


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
    elif looks_like_hub_name(location):
        root, resolved_revision = _snapshot(location, revision, what, fix, revision_fix)
        files = tuple(data_files(root, split))
    else:
        raise SourceError(f"{what}: {location!r} does not exist; pass an existing file or folder with {fix}=PATH.")
    if not files:
        raise SourceError(
            f"{what}: {location!r} holds no {'/'.join(DATA_SUFFIXES)} data files"
            f"{f' for split {split!r}' if split else ''}; point {fix}=PATH at the dataset's files."
        )
    return ResolvedFiles(name=location, files=files, revision=resolved_revision, sha256=_sha256(root, files))


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


def _sha256(root: Path, files: Sequence[Path]) -> str:
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
    from huggingface_hub import snapshot_download

    offline = is_offline()
    try:
        folder = snapshot_download(name, repo_type="dataset", revision=revision, local_files_only=offline,
                                   allow_patterns=[f"*{s}" for s in DATA_SUFFIXES])
    except Exception as err:  # hub errors come in many types (offline, missing repo, network)
        if offline:
            raise SourceError(
                f"{what}: hub dataset {name!r} at revision {revision!r} is not in the local cache and downloads are "
                f"off (HF_HUB_OFFLINE=1); fetch it on a connected machine (huggingface-cli download --repo-type "
                f"dataset {name} --revision {revision} --local-dir DIR) and pass {fix}=DIR."
            ) from err
        raise SourceError(
            f"{what}: could not fetch hub dataset {name!r} at revision {revision!r} ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); check the name and revision or pass {fix}=PATH."
        ) from err
    folder = Path(folder)
    return folder, folder.name


def iter_rows(files: Sequence[Path], what: str) -> Iterator[dict[str, Any]]:
    """Every row of ``files`` in order, as plain dicts (parquet is read in batches: memory stays flat)."""
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".parquet":
            for batch in _parquet(file, what).iter_batches(batch_size=_PARQUET_BATCH):
                yield from batch.to_pylist()
        elif suffix == ".jsonl":
            yield from _json_lines(file, what)
        else:
            yield from _json_file(file, what)


def count_rows(files: Sequence[Path], what: str) -> int:
    """How many rows :func:`iter_rows` yields (parquet from its metadata, without reading the data)."""
    total = 0
    for file in files:
        if file.suffix.lower() == ".parquet":
            total += _parquet(file, what).metadata.num_rows
        elif file.suffix.lower() == ".jsonl":
            with file.open(encoding="utf-8") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            total += sum(1 for _ in iter_rows([file], what))
    return total


def columns(files: Sequence[Path], what: str) -> list[str]:
    """Column names of the first file (parquet schema, or the first JSON row's keys)."""
    file = files[0]
    if file.suffix.lower() == ".parquet":
        return list(_parquet(file, what).schema_arrow.names)
    first = next(iter_rows([file], what), None)
    return sorted(first) if isinstance(first, dict) else []


def check_columns(files: Sequence[Path], required: Sequence[str], what: str, fix: str) -> None:
    """Raise :class:`SourceError` naming the file and its columns if a required column is missing."""
    found = columns(files, what)
    missing = [c for c in required if c not in found]
    if missing:
        raise SourceError(
            f"{what}: {os.fspath(files[0])!r} lacks columns {missing} (columns found: {sorted(found)}); "
            f"point {fix}=PATH at the dataset in its hub schema."
        )


def _parquet(file: Path, what: str) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file)
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise SourceError(f"{what}: {os.fspath(file)!r} is not a readable parquet file ({err}); re-export it.") from err


def _json_lines(file: Path, what: str) -> Iterator[dict[str, Any]]:
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield _row(_loads(line, file, what, f"line {number}"), file, what, f"line {number}")


def _json_file(file: Path, what: str) -> Iterator[dict[str, Any]]:
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg != "Extra data":  # several JSON values: the file is JSON lines under a .json name
            raise SourceError(f"{what}: {os.fspath(file)!r} is not valid JSON ({err.msg}); fix it.") from err
        yield from _json_lines(file, what)
        return
    if not isinstance(data, list):
        data = [data]
    for i, row in enumerate(data, start=1):
        yield _row(row, file, what, f"row {i}")


def _loads(text: str, file: Path, what: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SourceError(f"{what}: {os.fspath(file)!r} {where} is not valid JSON ({err.msg}); fix it.") from err


def _row(value: Any, file: Path, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SourceError(f"{what}: {os.fspath(file)!r} {where} is a {type(value).__name__}; rows must be objects.")
    return value
