"""Errors the chat client raises, each with a one-sentence message naming the bad input and the fix.

Every message that quotes a server is redacted first and cut second
(:func:`infra.redaction.redact_then_cut`): some servers echo the API key they received in their error
text, error messages end up in logs and reports, and a key straddling the cut must not leak its prefix.
"""

from __future__ import annotations

import json
import re

from infra.redaction import redact_then_cut

_MODEL_MISSING = re.compile(r"model.{0,80}(does not exist|not found|unknown|invalid|not available)", re.I | re.S)
_MAX_QUOTE = 300  # characters of a server's message worth quoting in a one-line error


class ChatClientError(Exception):
    """Base class: anything the chat client raises on purpose."""


class ClientConfigError(ChatClientError, ValueError):
    """A bad argument or environment (URL, model, key variable) found before any request."""


class EndpointError(ChatClientError):
    """Nothing answers at the base URL: wrong host/port, or a path with no chat-completions route."""


class UnreachableError(EndpointError):
    """Nothing listens at the base URL (connection refused, no such host): the run failed, every CLI exits 1."""


class AuthError(ChatClientError):
    """The server refused the credentials (HTTP 401/403)."""


class UnknownModelError(ChatClientError):
    """The server does not serve the requested model."""


class RequestRejectedError(ChatClientError):
    """The server refused this request for a reason retrying will not fix (HTTP 4xx, e.g. context too long)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RetriesExhaustedError(ChatClientError):
    """Transient failures (429, 5xx, timeouts, resets, malformed bodies) outlasted the retry budget."""

    def __init__(self, message: str, attempts: int, last_reason: str) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_reason = last_reason


class TransientError(Exception):
    """Internal: one attempt failed in a way worth retrying (never escapes the client)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def server_message(body: bytes, secret: str | None = None) -> tuple[str, str]:
    """(message, code) from an OpenAI-style error body (else the body's start), ``secret`` redacted before the cut."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        head = body[: 4 * (_MAX_QUOTE + len(secret or ""))]  # enough bytes for the quote and a key straddling it
        return redact_then_cut(head.decode("utf-8", "replace").strip(), [secret], _MAX_QUOTE), ""
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)
        return redact_then_cut(" ".join(str(message).split()), [secret], _MAX_QUOTE), str(error.get("code") or "")
    return redact_then_cut(" ".join(str(error).split()), [secret], _MAX_QUOTE), ""


def error_for_status(
    status: int, body: bytes, *, url: str, base_url: str, model: str, key_env: str | None, secret: str | None
) -> ChatClientError:
    """The error to raise for a non-retryable HTTP status."""
    message, code = server_message(body, secret)
    if status in (401, 403):
        if key_env is None:
            return AuthError(
                f"the server at {base_url} refused the request without an API key (HTTP {status}); "
                "pass --api-key-env naming the environment variable that holds the key."
            )
        return AuthError(
            f"the server at {base_url} refused the key in ${key_env} (HTTP {status}); "
            f"check that {key_env} holds a valid key for this server."
        )
    if status in (400, 404) and (code == "model_not_found" or _MODEL_MISSING.search(message)):
        return UnknownModelError(
            f"the server at {base_url} does not serve model {model!r} (HTTP {status}); "
            f"pass a model listed at {base_url}/models."
        )
    if status in (404, 405):
        return EndpointError(
            f"{url} has no chat-completions route (HTTP {status}); check base_url, which usually ends in /v1."
        )
    return RequestRejectedError(f"the server at {base_url} rejected the request (HTTP {status}: {message}).", status)
