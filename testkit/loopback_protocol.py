"""The wire side of the loopback judge: scripted faults, call records and chat-completions bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FaultSchedule = Sequence["Fault | None"] | Callable[[int], "Fault | None"]


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour. Build with the class methods; ``Fault.parse`` reads the CLI form."""

    kind: str  # rate_limit | server_error | slow | malformed_json | truncated | reset | extra_choices
    seconds: float = 0.0  # Retry-After for rate_limit, the delay for slow
    status: int = 500  # for server_error
    keep_chars: int | None = None  # for truncated; None keeps half the text; for extra_choices, how many choices

    @classmethod
    def rate_limit(cls, retry_after: float = 1.0) -> Fault:
        return cls("rate_limit", seconds=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("server_error", status=status)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls("slow", seconds=seconds)

    @classmethod
    def malformed_json(cls) -> Fault:
        return cls("malformed_json")

    @classmethod
    def truncated(cls, keep_chars: int | None = None) -> Fault:
        return cls("truncated", keep_chars=keep_chars)

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def extra_choices(cls, count: int = 3) -> Fault:
        """``count`` choices whatever ``n`` asked, listed last index first (index 0 holds the policy's answer)."""
        return cls("extra_choices", keep_chars=count)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read the CLI form: ``429[:s]``, ``5xx``, ``slow:S``, ``malformed``, ``truncated[:N]``, ``reset``."""
        head, _, arg = spec.partition(":")
        try:
            if head == "429":
                return cls.rate_limit(float(arg or 1.0))
            if head.isdigit() and 500 <= int(head) <= 599:
                return cls.server_error(int(head))
            if head == "slow" and arg:
                return cls.slow(float(arg))
            if head in ("malformed", "reset") and not arg:
                return cls.malformed_json() if head == "malformed" else cls.reset()
            if head == "truncated":
                return cls.truncated(int(arg) if arg else None)
        except ValueError:
            pass
        forms = "429[:s], 5xx, slow:s, malformed, truncated[:n] or reset"
        raise ValueError(f"fault {spec!r} is not understood; use {forms}.")


@dataclass(frozen=True)
class CallRecord:
    """One chat request the server received: what it asked and how it was answered."""

    index: int
    model: str | None
    prompt: str | None  # the last user message
    status: int  # HTTP status sent; 0 if the connection was reset
    fault: str | None
    started: float  # time.monotonic() at arrival
    finished: float


def error_body(message: str, code: str) -> dict:
    """An error body shaped like OpenAI's, which clients parse for ``message`` and ``code``."""
    return {"error": {"message": message, "type": code, "code": code}}


def json_object(body: bytes) -> dict | None:
    """The request body as a dict, or None if it is not a JSON object."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def last_user_message(request: dict) -> str | None:
    """The content of the last ``user`` message (what policies read), or None."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return None


def completion_body(index: int, request: dict, text: str, cut: int | None, choices: int | None = None) -> dict:
    """A full chat-completions body; tokens are whitespace-separated words.

    ``choices`` forces that many choices (whatever ``n`` asked), in reverse index order: index 0, the
    policy's answer, comes last, and the others hold a decoy verdict.
    """
    finish = "stop"
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if isinstance(limit, int) and len(text.split()) > limit:
        text, finish = " ".join(text.split()[:limit]), "length"
    if cut is not None:
        text, finish = text[:cut], "length"
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request["messages"] if isinstance(m, dict))
    asked = request.get("n")
    n = asked if isinstance(asked, int) and asked > 0 else 1
    message = {"role": "assistant", "content": text}
    listed = [{"index": i, "message": message, "finish_reason": finish, "logprobs": None} for i in range(n)]
    if choices is not None:
        decoy = {"role": "assistant", "content": "A decoy choice. <answer>[[B]]</answer>"}
        listed = [{"index": i, "message": decoy if i else message, "finish_reason": finish, "logprobs": None}
                  for i in reversed(range(choices))]
    return {
        "id": f"chatcmpl-loopback-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model"),
        "choices": listed,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n * len(text.split()),
            "total_tokens": prompt_tokens + n * len(text.split()),
        },
    }
