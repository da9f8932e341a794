"""The resumable cache of raw teacher responses: every paid answer is written and fsynced before it is used.

The file is an :class:`infra.response_log.ResponseLog`, eval's generation cache too (a torn last line is
cut off on open; one run at a time). Lines that are not a usable answer (wrong types, nulls, another
version) are skipped and their rows asked again; a file with no usable line at all is refused rather than
appended to. The key hashes what determines the answer: model name, messages and sampling settings (not
the URL, so the same model behind another address reuses its answers). Failed requests are never cached.

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
from typing import Any

from data_prep.errors import DataPrepError
from infra.response_log import ResponseLog
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


class ResponseCache(ResponseLog[CachedResponse]):
    """Append-only teacher-answer cache at ``path``: the shared response log, fsynced per answer."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, _entry, lambda entry: entry.key, error=CacheError, what="distill cache", fsync=True,
                         looks_torn=lambda tail: _RECORD_START.startswith(tail) or tail.startswith(_RECORD_START))
        if self.bad_lines and not self.records:
            raise CacheError(f"{self.path} holds no teacher answers ({self.bad_lines} unreadable lines); it is not a "
                             "distill cache, so pass --cache another path (a fresh one asks the teacher again).")

    def put(self, entry: CachedResponse) -> None:
        """Append ``entry`` and force it to disk before returning."""
        self.write(entry, json.dumps(dataclasses.asdict(entry), sort_keys=True, ensure_ascii=False))


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
