"""The generation cache: RAW judge outputs, one JSON line each, appended and flushed as they arrive.

Keyed by :func:`request_key`: a hash of the judge's exact chat messages (which fix the item, the A/B
order and the prompt template), the prompt version, the model identity and the sampling settings.
Verdicts are NOT stored: scoring always re-parses the raw text, so a parser change re-scores a run
without a single new generation.

Crash safety: each record is written with one ``write`` and flushed to the OS before the next request
is reported, so a SIGKILLed run loses only the requests in flight. (No fsync per line: the OS keeps
flushed data across a process kill; only a power cut could lose the tail, which then regenerates.) A
half-written last line is cut off when the cache is next opened for writing (a complete last record
that only lacks its newline is kept and completed); unreadable lines and records whose fields have
the wrong types (a null or numeric text) are skipped, counted and generated again. An exclusive lock,
taken when the cache is entered (``with GenerationCache(path)``, before any request), stops two runs
from appending to one file at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from eval.errors import EvalError
from infra.chat_types import without_lone_surrogates

CACHE_FORMAT = "eval-generations-v1"


class RequestKeyer:
    """Cache keys for many requests that share a model, prompt version, sampling and request options.

    A key is a 128-bit BLAKE2b digest (32 hex characters) of the shared header and, per message, its
    role and the digest of its content. Content digests of system messages are memoised: every
    request of a run repeats the same long instructions, and hashing them once per run rather than
    once per request is most of the keying cost.
    """

    def __init__(self, prompt_version: str, model_id: str, sampling: Mapping[str, Any],
                 request_options: Mapping[str, Any] | None = None) -> None:
        header = json.dumps([CACHE_FORMAT, model_id, prompt_version, dict(sampling), dict(request_options or {})],
                            sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        self._base = hashlib.blake2b(header.encode("utf-8"), digest_size=16)
        self._system: dict[str, bytes] = {}

    def key(self, messages: Sequence[Mapping[str, str]], sample: int = 0) -> str:
        """The cache key of one judge request; ``sample`` > 0 keys another independent sample of it (voting)."""
        digest = self._base.copy()
        if sample:
            digest.update(f"sample\0{sample}\0".encode())
        for message in messages:
            role, content = message["role"], message["content"]
            part = self._system.get(content) if role == "system" else None
            if part is None:
                part = hashlib.blake2b(content.encode("utf-8"), digest_size=32).digest()
                if role == "system" and len(self._system) < 64:
                    self._system[content] = part
            digest.update(role.encode("utf-8") + b"\0" + part)
        return digest.hexdigest()


def request_key(messages: Sequence[Mapping[str, str]], prompt_version: str, model_id: str,
                sampling: Mapping[str, Any], request_options: Mapping[str, Any] | None = None) -> str:
    """The cache key of one judge request (see :class:`RequestKeyer`)."""
    return RequestKeyer(prompt_version, model_id, sampling, request_options).key(messages)


@dataclass(frozen=True, slots=True)
class CachedGeneration:
    """One cached raw generation."""

    key: str
    text: str
    finish_reason: str | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class GenerationCache:
    """Read a cache file into memory, then append new generations to it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.records: dict[str, CachedGeneration] = {}
        self.bad_lines = 0
        self.torn_tail = False
        self.model_ids: set[str] = set()  # the models whose generations the file holds (from each line's context)
        self._unterminated = False  # the last line is a complete record without its newline
        self._loaded_size = -1
        self._size_at_lock = 0
        self._created = False
        self._handle: IO[bytes] | None = None
        self._load()

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: str) -> CachedGeneration | None:
        return self.records.get(key)

    def append(self, record: CachedGeneration, context: Mapping[str, Any] | None = None) -> None:
        """Write one record (plus readable context such as item id and order) and flush it."""
        handle = self._writer()
        record = replace(record, text=without_lone_surrogates(record.text))  # any backend's broken escape
        line = {"key": record.key, "text": record.text, "finish_reason": record.finish_reason,
                "prompt_tokens": record.prompt_tokens, "completion_tokens": record.completion_tokens,
                **(context or {})}
        handle.write((json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
        handle.flush()
        self.records[record.key] = record

    def close(self) -> None:
        if self._handle is not None:
            if self._created and self._handle.tell() == 0:  # locked but never written: leave no empty file
                self.path.unlink(missing_ok=True)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> GenerationCache:
        """Take the writer's lock now, before any request is sent (a second run is refused up front)."""
        loaded = max(self._loaded_size, 0)
        self._writer()
        if self._size_at_lock != loaded:  # another run wrote to it between our read and our lock
            torn = self.torn_tail
            self.records.clear()
            self.bad_lines, self.torn_tail = 0, False
            self._load()
            self.torn_tail = self.torn_tail or torn
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> None:
        if not self.path.exists():
            return
        if not self.path.is_file():
            raise EvalError(f"cache {os.fspath(self.path)!r} is not a file; pass --cache a JSONL file path.")
        data = self.path.read_bytes()
        self._loaded_size = len(data)
        lines = data.split(b"\n")
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            record, model_id = _parse(raw)
            if number == len(lines):  # no newline after it: written by a killed run, or by hand
                if record is None:
                    self.torn_tail = True  # half a line: cut when writing starts, never counted as bad
                    continue
                self._unterminated = True
            if record is None:
                self.bad_lines += 1
                continue
            self.records[record.key] = record
            if model_id is not None:
                self.model_ids.add(model_id)

    def _writer(self) -> IO[bytes]:
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._created = not self.path.exists()
                handle = open(self.path, "ab")  # kept open for the run, closed in close()
            except OSError as err:
                raise EvalError(f"cache {os.fspath(self.path)!r} cannot be opened for writing "
                                f"({err.strerror or err}); pass a writable --out or --cache.") from err
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise EvalError(
                    f"cache {os.fspath(self.path)!r} is in use by another run; wait for it or pass a different --cache."
                ) from None
            self._size_at_lock = os.fstat(handle.fileno()).st_size
            if self._unterminated:
                handle.write(b"\n")  # complete the last record's line instead of cutting it
                handle.flush()
                self._unterminated = False
            else:
                _cut_torn_tail(handle, self.path)
            self._handle = handle
        return self._handle


def _parse(raw: bytes) -> tuple[CachedGeneration | None, str | None]:
    """The record on one line and the model id its context names; (None, None) for anything malformed."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # invalid JSON or UTF-8, a huge integer, nesting too deep
        return None, None
    if not isinstance(data, dict):
        return None, None
    key, text, finish = data.get("key"), data.get("text"), data.get("finish_reason")
    tokens = (data.get("prompt_tokens"), data.get("completion_tokens"))
    if not (isinstance(key, str) and key and isinstance(text, str)) or not isinstance(finish, str | None):
        return None, None
    if any(t is not None and (type(t) is not int or t < 0) for t in tokens):  # bool is not a count
        return None, None
    model_id = data.get("model_id")
    return CachedGeneration(key, text, finish, *tokens), model_id if isinstance(model_id, str) else None


def _cut_torn_tail(handle: IO[bytes], path: Path) -> None:
    """Truncate a last line that a killed writer left without its newline (it was never counted)."""
    end = path.stat().st_size
    with open(path, "rb") as reader:
        position = end
        while position > 0:  # scan back for the last newline, a chunk at a time
            start = max(0, position - (1 << 20))
            reader.seek(start)
            chunk = reader.read(position - start)
            if position == end and chunk.endswith(b"\n"):
                return
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            position = start
    handle.truncate(0)
