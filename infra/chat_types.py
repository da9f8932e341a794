"""Values the chat client returns: results, token totals, prices; and reading the key from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from infra.chat_errors import ClientConfigError, TransientError
from infra.cli_flags import ENV_NAME
from infra.user_json import without_lone_surrogates

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, a paired escape is already one code point


class Secret:
    """A credential whose repr and str never show it (so vars(), f-strings and tracebacks stay clean)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The credential itself: only for the Authorization header and for redacting server text."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Prices:
    """User-supplied prices in USD per million tokens (providers quote them this way)."""

    prompt_per_mtok: float
    completion_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for one request's tokens."""
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1_000_000


@dataclass(frozen=True)
class Choice:
    """One generated answer. ``reasoning`` holds a separate reasoning field if the server sends one (vLLM)."""

    text: str
    finish_reason: str | None
    reasoning: str | None = None


@dataclass(frozen=True)
class ChatResult:
    """One completed request. Token counts are None when the server sent no ``usage``."""

    choices: tuple[Choice, ...]
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    attempts: int
    latency_s: float  # from the first attempt's start to the answer, retries included
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def text(self) -> str:
        """The first choice's text."""
        return self.choices[0].text

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason

    @property
    def truncated(self) -> bool:
        """True if the first choice hit the token limit (the verdict is probably missing)."""
        return self.choices[0].finish_reason == "length"


@dataclass
class UsageTotals:
    """Running totals over a client's life; ``to_dict`` goes into run metadata ``counts``."""

    requests: int = 0  # successful requests
    attempts: int = 0  # HTTP attempts, retries included
    retries: int = 0
    failures: int = 0  # requests that raised
    prompt_tokens: int = 0
    completion_tokens: int = 0
    missing_usage: int = 0  # successful responses without a usage block (their tokens are not counted)
    extra_choices: int = 0  # choices beyond the ``n`` asked for (such answers are refused, never taken by position)
    cost_usd: float | None = None  # None unless prices were given

    def add(self, result: ChatResult) -> None:
        self.requests += 1
        if result.prompt_tokens is None or result.completion_tokens is None:
            self.missing_usage += 1
        else:
            self.prompt_tokens += result.prompt_tokens
            self.completion_tokens += result.completion_tokens
        if result.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + result.cost_usd

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class BatchResult:
    """What :func:`infra.chat_client.chat_batch` returns."""

    results: list[Any]  # ChatResult, or ChatClientError where return_exceptions=True
    usage: UsageTotals
    client: dict[str, Any]  # ChatClient.describe(), for run metadata


def parse_completion(data: Any, attempts: int, latency_s: float, prices: Prices | None) -> ChatResult:
    """Read a chat-completions body; a body without usable choices is a transient fault (retried)."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
        raise TransientError("a 200 response without choices")
    choices = _by_index(choices)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt, completion = _int_or_none(usage.get("prompt_tokens")), _int_or_none(usage.get("completion_tokens"))
    cost = prices.cost(prompt, completion) if prices and prompt is not None and completion is not None else None
    return ChatResult(
        choices=tuple(_choice(c) for c in choices),
        model=data.get("model"),
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=cost,
        attempts=attempts,
        latency_s=latency_s,
        raw=data,
    )


def read_api_key(env_name: str | None) -> Secret | None:
    """The key held in environment variable ``env_name`` (None: no auth). Never echoes a value it read."""
    if env_name is None:
        return None
    if not ENV_NAME.fullmatch(env_name):
        # Deliberately not quoting the argument: people paste the key itself here by mistake.
        raise ClientConfigError(
            "--api-key-env must be the NAME of an environment variable (upper-case letters, digits, underscores, "
            "e.g. OPENAI_API_KEY), never the key itself."
        )
    key = os.environ.get(env_name, "").strip()
    if not key:
        raise ClientConfigError(
            f"environment variable {env_name} is empty or unset; export the key there, "
            "or drop --api-key-env for a server without auth."
        )
    return Secret(key)


def _by_index(choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Choices in the order of their ``index`` (servers may send them in any order); list order without one."""
    indices = [c.get("index") for c in choices]
    if all(i is None for i in indices):
        return choices
    if sorted(i for i in indices if type(i) is int) != list(range(len(choices))):
        raise TransientError("a 200 response whose choices have missing or repeated indices")
    return sorted(choices, key=lambda c: c["index"])


def _choice(raw: dict[str, Any]) -> Choice:
    found = raw.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    reasoning = without_lone_surrogates(reasoning) if isinstance(reasoning, str) else None
    finish = raw.get("finish_reason")
    return Choice(_text(message.get("content")), finish if isinstance(finish, str) else None, reasoning)


def _text(content: Any) -> str:
    """Message content as text: servers send a string, None (refusals, tool calls) or a list of parts.

    A lone surrogate (a broken ``\\ud800`` escape, which no UTF-8 file can hold) becomes U+FFFD here, once for
    every consumer, so no cache or dataset writer meets one.
    """
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return without_lone_surrogates(content) if isinstance(content, str) else ""



def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
