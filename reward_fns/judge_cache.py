"""The judge reward's raw-response cache: a resumed step never asks the judge the same thing twice.

A minimal local cache behind a two-method interface (:class:`ResponseCache`: ``get`` and ``put``), so
it can be swapped for a project-wide cache without touching the reward. Why not eval's or
distillation's cache: both take an exclusive lock on one file, while the trainer runs many reward
workers at once (``reward.num_workers`` per node, on every node) that must all read and append.

Layout: a folder on the shared file system with one JSON-lines file per writer process
(``<host>-<pid>.jsonl``). A worker reads every file at open (what earlier or concurrent workers wrote)
and appends only to its own, one flushed line per response, so writers never share a file and a
killed worker loses only what was in flight. A torn or unreadable line is skipped (it is asked again).

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> cache = FolderCache(folder)
>>> cache.put("k1", "<answer>[[A]]</answer>")
>>> FolderCache(folder).get("k1")
'<answer>[[A]]</answer>'
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

CACHE_FORMAT = "judge-reward-cache-v1"


class ResponseCache(Protocol):
    """What the judge reward needs from a cache."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str) -> None: ...


def request_key(model: str, messages: Sequence[Mapping[str, Any]], sampling: Mapping[str, Any]) -> str:
    """A digest of everything that shapes the judge's answer: model, exact messages, sampling settings."""
    payload = {"format": CACHE_FORMAT, "model": model, "messages": [dict(m) for m in messages],
               "sampling": dict(sampling)}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(blob.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class FolderCache:
    """One folder shared by many writer processes; each appends to its own file."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._own = self.folder / f"{socket.gethostname()}-{os.getpid()}.jsonl"
        self._entries: dict[str, str] = {}
        for path in sorted(self.folder.glob("*.jsonl")):
            self._load(path)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def put(self, key: str, text: str) -> None:
        self._entries[key] = text
        line = json.dumps({"key": key, "text": text}, ensure_ascii=False) + "\n"
        # One write of one line, flushed before the reward returns: a kill loses only requests in flight.
        with open(self._own, "a", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(line)

    def _load(self, path: Path) -> None:
        with open(path, encoding="utf-8", errors="surrogatepass") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:  # a torn last line of a killed writer: ask again
                    continue
                if isinstance(record, dict) and isinstance(record.get("key"), str) and isinstance(
                    record.get("text"), str
                ):
                    self._entries[record["key"]] = record["text"]
