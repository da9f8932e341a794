"""The resumable cache of raw teacher responses: every paid answer is written before it is used.

One JSON object per line, appended and fsynced as each response arrives, so a run that is
interrupted, crashes or is SIGKILLed continues where it stopped without paying for an answer twice.
A line torn by a kill mid-write (no trailing newline, or not JSON) is cut off on open; every complete
line survives. A lock file keeps two runs from writing one cache at the same time.

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

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError

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
        self.torn_lines = 0  # lines cut off on open (a kill mid-write)

    def __enter__(self) -> ResponseCache:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _take_lock(self.path.with_name(self.path.name + ".lock"))
        self._load()
        self._handle = open(self.path, "a", encoding="utf-8", newline="\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock

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
        data = self.path.read_bytes()
        good = 0  # byte offset after the last complete, readable line
        for raw in data.splitlines(keepends=True):
            entry = _entry(raw) if raw.endswith(b"\n") else None
            if entry is None:
                break
            self._entries[entry.key] = entry
            good += len(raw)
        if good < len(data):
            self.torn_lines = data[good:].count(b"\n") + (0 if data.endswith(b"\n") else 1)
            if self.torn_lines > 1:
                raise CacheError(f"cache {self.path} has {self.torn_lines} unreadable lines, more than a kill "
                                 "mid-write leaves; move it away (a fresh run asks the teacher again).")
            with open(self.path, "r+b") as handle:
                handle.truncate(good)


def _entry(raw: bytes) -> CachedResponse | None:
    try:
        data = json.loads(raw)
        return CachedResponse(**data) if isinstance(data, dict) and data.get("version") == CACHE_VERSION else None
    except (ValueError, TypeError):
        return None


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
