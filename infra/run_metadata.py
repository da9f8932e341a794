"""One run-metadata schema for every manifest and report in the project.

A manifest says what produced a set of files (tool, version, git commit), from what (inputs with
revision and sha256, prompt and verdict format versions, seed, model and sampling, tool settings) and
what came out (counts, output files with sha256). Everything that differs between two otherwise
identical runs (timestamps, host, duration) lives in ``volatile``, which :meth:`RunMetadata.content_hash`
leaves out: two rebuilds of the same data have the same content hash even though they ran at different
times on different machines.

Import-light on purpose (standard library plus ``reward_fns``): Ray workers, scripts and tests import it.

>>> meta = RunMetadata(tool="data_prep.build_parquet", tool_version="0.1.0", seed=7)
>>> RunMetadata.from_dict(meta.to_dict()) == meta
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from infra.atomic_files import write_text_atomic
from infra.user_json import load_json
from reward_fns import VERDICT_FORMAT_VERSION

SCHEMA_VERSION = "run-metadata-v1"
_CHUNK = 1 << 20  # 1 MiB reads keep sha256_file's memory flat on multi-GB parquet files


@dataclass(frozen=True)
class InputRef:
    """One input: a local path or a hub name, with the revision and content hash when known."""

    name: str
    revision: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class OutputRef:
    """One output file, ``path`` relative to the manifest's folder so the folder can move."""

    path: str
    sha256: str
    rows: int | None = None

    def __post_init__(self) -> None:
        if Path(self.path).is_absolute() or ".." in Path(self.path).parts:
            raise ValueError(f"output path {self.path!r} must be relative to the manifest's folder and inside it; "
                             "write outputs under that folder and record them with OutputRef.for_file(path, "
                             "manifest_dir).")

    @classmethod
    def for_file(cls, path: str | os.PathLike[str], manifest_dir: str | os.PathLike[str],
                 rows: int | None = None) -> OutputRef:
        """Hash ``path`` and record it relative to ``manifest_dir`` (POSIX separators)."""
        rel = Path(os.path.relpath(Path(path).resolve(), Path(manifest_dir).resolve())).as_posix()
        return cls(path=rel, sha256=sha256_file(path), rows=rows)


@dataclass
class RunMetadata:
    """What produced a set of files, from what, and what came out.

    ``config`` holds tool-specific settings (e.g. the data builder's ``variant``, ``tokenizer``,
    ``max_prompt_length``, ``chat_template_kwargs``); ``sampling`` the generation parameters;
    ``volatile`` anything run-specific, excluded from :meth:`content_hash`. Every dict must hold
    JSON values only (str, int, float, bool, None, lists and str-keyed dicts of those).
    """

    tool: str
    tool_version: str
    git_commit: str | None = None
    inputs: list[InputRef] = field(default_factory=list)
    prompt_version: str | None = None
    verdict_format_version: str = VERDICT_FORMAT_VERSION
    seed: int | None = None
    model: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    outputs: list[OutputRef] = field(default_factory=list)
    volatile: dict[str, Any] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A plain-JSON dict (refs become dicts); raises ValueError naming any non-JSON value."""
        data = dataclasses.asdict(self)
        _check_json(data, "RunMetadata")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetadata:
        """Rebuild from :meth:`to_dict` output; unknown or missing keys raise one clear ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"run metadata has unknown keys {unknown}; put tool-specific settings under 'config'.")
        missing = sorted(k for k in ("tool", "tool_version") if k not in data)
        if missing:
            raise ValueError(f"run metadata lacks required keys {missing}; every manifest names its tool and version.")
        schema = data.get("schema_version", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            raise ValueError(f"run metadata schema {schema!r} is not {SCHEMA_VERSION!r}; rebuild it with this version.")
        kwargs = dict(data)
        kwargs["inputs"] = [_ref(InputRef, ref, f"inputs[{i}]") for i, ref in enumerate(data.get("inputs", []))]
        kwargs["outputs"] = [_ref(OutputRef, ref, f"outputs[{i}]") for i, ref in enumerate(data.get("outputs", []))]
        return cls(**kwargs)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of everything except ``volatile``."""
        data = self.to_dict()
        del data["volatile"]
        return hashlib.sha256(_canonical(data)).hexdigest()

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON (sorted keys, indent 2, trailing newline) atomically: temp file then os.replace."""
        text = json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        return write_text_atomic(path, text)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> RunMetadata:
        """Load a manifest written by :meth:`write`."""
        data = load_json(Path(path).read_bytes(), f"run metadata file {os.fspath(path)!r}", "rewrite it")
        if not isinstance(data, dict):
            raise ValueError(f"run metadata file {os.fspath(path)!r} holds a {type(data).__name__}, not an object.")
        return cls.from_dict(data)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def git_commit(repo_dir: str | os.PathLike[str] = ".") -> str | None:
    """HEAD's commit hash for the repository holding ``repo_dir``; None outside git or if git fails."""
    try:
        out = subprocess.run(["git", "-C", os.fspath(repo_dir), "rev-parse", "--verify", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def now_volatile(**extra: Any) -> dict[str, Any]:
    """The usual volatile fields (UTC ``created_at``, ``host``) plus anything passed in."""
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {"created_at": created, "host": socket.gethostname(), **extra}


def _ref(cls: type[Any], ref: Any, where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(ref, dict) or not set(ref) <= names:
        raise ValueError(f"run metadata {where} is {ref!r}; it must be an object with keys from {sorted(names)}.")
    return cls(**ref)


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _check_json(value: Any, where: str) -> None:
    """Raise a ValueError naming the first value JSON cannot store exactly (so round trips are exact)."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{where} is {value}, which JSON cannot store; record it as null or a string.")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has key {key!r} of type {type(key).__name__}; use string keys.")
            _check_json(item, f"{where}[{key!r}]")
        return
    kind = type(value).__name__
    raise ValueError(f"{where} holds a {kind}, which JSON cannot store; convert it to a list, str or number.")
