"""The resumable cache of raw teacher responses: every paid answer is written before it is used.

One JSON object per line, appended and fsynced as each response arrives, so a run that is
interrupted, crashes or is SIGKILLed continues where it stopped without paying for an answer twice.
A last line torn by a kill mid-write (no trailing newline, not JSON) is cut off on open; a complete
last record that only lacks its newline is kept. Complete lines that are not a usable answer (wrong
types, nulls, another version) are skipped and their rows asked again; a file with no usable line at
all is refused rather than appended to (it is not a cache). A lock file keeps two runs from writing
one cache at the same time.

The key is a hash of what determines the answer: model name, messages and sampling settings (not the
URL, so the same model behind another address or port reuses its answers). Failed requests are never
cached, so a rerun asks again.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "responses.jsonl"
>>> with ResponseCache(path) as cache:
...     key = request_key("judge", [{"role": "user", "content": "hi"}], {"temperature": 0})
...     cache.put(CachedResponse(key, "pass1", "r1", "judge", "<answer>[[A]]</answer>", None, "stop", 3, 4))
>>> with ResponseCache(path) as cache:
...     cache.get(key).content
'<answer>[[A]]</answer>'
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from infra.cli_errors import os_reason
from infra.user_json import BadJson, parse_json

CACHE_VERSION = "teacher-cache-v1"


class CacheError(DataPrepError):
    """The cache file cannot be used (locked by another run, or not a cache)."""


@dataclass(frozen=True)
class CachedResponse:
    """One teacher answer as received (its text is never edited afterwards)."""

    key: str
    purpose: str  # pass1 | pass2
    row_id: str
    model: str
    content: str
    reasoning: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    version: str = CACHE_VERSION


def request_key(model: str, messages: Sequence[Mapping[str, Any]], sampling: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of model, messages and sampling."""
    payload = {"model": model, "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
               "sampling": dict(sampling), "version": CACHE_VERSION}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Append-only response cache at ``path`` (a context manager holding the run's lock)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._entries: dict[str, CachedResponse] = {}
        self._handle: Any = None
        self._lock: Any = None
        self.torn_lines = 0  # a last line torn by a kill mid-write, cut off on open
        self.bad_lines = 0  # complete lines that are not a usable answer (skipped: their rows are asked again)
        self._made = False  # this run created the file (so may remove it again while it is empty)
        self._made_dirs: list[Path] = []

    def __enter__(self) -> ResponseCache:
        self._made = not self.path.exists()
        self._made_dirs = [p for p in self.path.parents if not p.exists()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = _take_lock(self.path.with_name(self.path.name + ".lock"))
            self._load()
            self._handle = open(self.path, "a", encoding="utf-8", newline="\n")
        except OSError as err:
            self.__exit__()
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise  # a full disk is a failed run (exit 1), not a bad path
            raise CacheError(f"cache {self.path} cannot be written ({os_reason(err)}); pass --cache a writable file "
                             "path.") from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._made and self.path.is_file() and self.path.stat().st_size == 0:
            # a run that stopped before its first answer (a bad key, an unreachable server) leaves nothing behind
            self.path.unlink()
            self.path.with_name(self.path.name + ".lock").unlink(missing_ok=True)
            for folder in self._made_dirs:  # deepest first; rmdir removes only empty folders
                with contextlib.suppress(OSError):
                    folder.rmdir()
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedResponse | None:
        return self._entries.get(key)

    def put(self, entry: CachedResponse) -> None:
        """Append ``entry`` and force it to disk before returning."""
        line = json.dumps(dataclasses.asdict(entry), sort_keys=True, ensure_ascii=False) + "\n"
        self._handle.write(line)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._entries[entry.key] = entry

    def _load(self) -> None:
        if not self.path.exists():
            return
        if not self.path.is_file():
            raise CacheError(f"cache {self.path} is not a file; pass --cache a file path (or leave it out).")
        data = self.path.read_bytes()
        lines = data.splitlines(keepends=True)
        complete = lines if data.endswith(b"\n") else lines[:-1]
        tail = b"" if data.endswith(b"\n") or not lines else lines[-1]
        for raw in complete:
            entry = _entry(raw)
            if entry is None:
                self.bad_lines += 1  # wrong types or not ours: not used, so its row is asked again
            else:
                self._entries[entry.key] = entry
        if complete and not self._entries:
            raise CacheError(f"{self.path} holds no teacher answers ({self.bad_lines} unreadable lines); it is not a "
                             "distill cache, so pass --cache another path (a fresh one asks the teacher again).")
        if tail:
            self._repair_tail(tail, len(data) - len(tail))

    def _repair_tail(self, tail: bytes, start: int) -> None:
        """A last line without its newline: complete (kept, newline added) or torn by a kill (cut off)."""
        entry = _entry(tail)
        with open(self.path, "r+b") as handle:
            if entry is not None:
                self._entries[entry.key] = entry
                handle.seek(0, os.SEEK_END)
                handle.write(b"\n")
            elif _RECORD_START.startswith(tail) or tail.startswith(_RECORD_START):
                self.torn_lines = 1
                handle.truncate(start)
            else:
                raise CacheError(f"{self.path} ends in a line that no distill run wrote; it is not a distill cache, "
                                 "so pass --cache another path (a fresh one asks the teacher again).")
            handle.flush()
            os.fsync(handle.fileno())


_RECORD_START = b'{"completion_tokens": '  # every line put() writes starts so (sorted keys): a torn line too
_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,), "purpose": (str,), "row_id": (str,), "model": (str,), "content": (str,),
    "reasoning": (str, type(None)), "finish_reason": (str, type(None)), "prompt_tokens": (int, type(None)),
    "completion_tokens": (int, type(None)), "version": (str,),
}


def _entry(raw: bytes) -> CachedResponse | None:
    """The response on one line, or None for anything else (torn, not JSON, other version, wrong types)."""
    try:
        data = parse_json(raw)  # also refuses lone surrogates, which no UTF-8 file can hold
    except BadJson:
        return None
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or set(data) != set(_TYPES):
        return None
    for name, kinds in _TYPES.items():
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, kinds) or (isinstance(value, int) and value < 0):
            return None
    return CachedResponse(**data)


def _take_lock(path: Path) -> Any:
    import fcntl

    handle = open(path, "a")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise CacheError(f"cache {path.with_suffix('')} is in use by another distill run; wait for it to finish "
                         "or pass another --out.") from None
    return handle
