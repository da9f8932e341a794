"""The one small interface every judge backend implements: batched chat messages in, raw texts out.

A backend is cheap to construct: its :attr:`Backend.model_id` (what the generation cache is keyed on)
and :meth:`Backend.describe` need no model load, so a run whose generations are all cached never loads
a model or opens a connection. Heavy work (loading weights, starting an engine) happens on the first
:meth:`Backend.generate` call.

``generate`` reports each result through ``on_result(index, Generation)`` as soon as it is known, so
the runner can append it to the cache before the next one arrives: a killed run loses at most the
requests in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from data_prep.pairs import Message

Messages = Sequence[Message]  # one request's chat messages, as the prompt module builds them
OnResult = Callable[[int, "Generation"], None]

@dataclass(frozen=True)
class Sampling:
    """Generation settings. Greedy (temperature 0) by default, as the RM-R1 evaluation protocol uses."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 8192
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def cache_fields(self) -> dict[str, Any]:
        """What changes a generation: the seed only matters when sampling."""
        fields = {"temperature": self.temperature, "top_p": self.top_p, "max_new_tokens": self.max_new_tokens}
        if not self.greedy:
            fields["seed"] = self.seed
        return fields

    def request_seed(self, key: str) -> int:
        """A per-request seed derived from the run seed and the request's cache key (order-independent)."""
        return int(hashlib.sha256(f"{self.seed}:{key}".encode()).hexdigest()[:8], 16)


@dataclass(frozen=True, slots=True)
class Generation:
    """One backend answer: the raw text, or ``error`` when the backend refused this one request."""

    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None  # e.g. the server rejected the request as too long; never cached


@dataclass(frozen=True, slots=True)
class Request:
    """What a backend generates for: the chat messages and the cache key (for per-request seeds)."""

    messages: Messages
    key: str


class Backend(Protocol):
    """Batched chat messages in, raw texts out."""

    name: str  # "hf", "vllm", "openai", "scripted"

    @property
    def model_id(self) -> str:
        """Identity of the judge for the cache key (content-derived for local checkpoints)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Settings worth recording in the report (never secrets)."""
        ...

    def context_limit(self) -> int | None:
        """The context length requests must fit in (prompt + max_new_tokens), or None if unknown."""
        ...

    def prompt_tokens(self, messages: Messages) -> int | None:
        """The prompt's length in tokens as this backend would send it, or None if it cannot count."""
        ...

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        """Generate for every request, calling ``on_result(index, generation)`` as each finishes."""
        ...

    def close(self) -> None:
        """Release the model, engine or connections."""
        ...
