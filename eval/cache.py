"""The generation cache: RAW judge outputs, one JSON line each, appended and flushed as they arrive.

Keyed by :class:`RequestKeyer`: a hash of the judge's exact chat messages (which fix the item, the A/B
order and the prompt template), the prompt version, the model identity and the sampling settings.
Verdicts are NOT stored: scoring always re-parses the raw text, so a parser change re-scores a run
without a single new generation.

The file is an :class:`infra.response_log.ResponseLog`, the one response cache of eval and distillation
(flushed per line, locked when entered, a torn tail cut); a line that is not a record (:func:`parse_record`)
is skipped, counted and generated again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from eval.backends.base import Messages
from eval.errors import EvalError
from infra.response_log import ResponseLog
from infra.user_json import BadJson, parse_json, without_lone_surrogates

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

    def key(self, messages: Messages, sample: int = 0) -> str:
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


@dataclass(frozen=True, slots=True)
class CachedGeneration:
    """One cached raw generation (``model_id``: the judge its line's context names)."""

    key: str
    text: str
    finish_reason: str | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model_id: str | None = None


class GenerationCache(ResponseLog[CachedGeneration]):
    """Read a cache file into memory, then append new generations to it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, parse_record, lambda record: record.key, error=EvalError)

    def append(self, record: CachedGeneration, context: Mapping[str, Any] | None = None) -> None:
        """Write one record (plus readable context such as item id, order and judge) and flush it."""
        context = dict(context or {})
        judge = context.get("model_id")
        record = replace(record, text=without_lone_surrogates(record.text),  # any backend's broken escape
                         model_id=judge if isinstance(judge, str) else record.model_id)
        line = {"key": record.key, "text": record.text, "finish_reason": record.finish_reason,
                "prompt_tokens": record.prompt_tokens, "completion_tokens": record.completion_tokens, **context}
        self.write(record, json.dumps(line, ensure_ascii=False, separators=(",", ":")))


def parse_record(raw: bytes) -> CachedGeneration | None:
    """The record on one line; None for anything malformed (infra.user_json's guards, or fields of wrong types)."""
    try:
        data = parse_json(raw)
    except BadJson:
        return None
    if not isinstance(data, dict):
        return None
    key, text, finish = data.get("key"), data.get("text"), data.get("finish_reason")
    tokens = (data.get("prompt_tokens"), data.get("completion_tokens"))
    if not (isinstance(key, str) and key and isinstance(text, str)) or not isinstance(finish, str | None):
        return None
    if any(t is not None and (type(t) is not int or t < 0) for t in tokens):  # bool is not a count
        return None
    model_id = data.get("model_id")
    return CachedGeneration(key, text, finish, *tokens, model_id if isinstance(model_id, str) else None)
