"""Any OpenAI-compatible chat-completions server (vLLM serve, SGLang, OpenAI, proxies) via the shared client.

Requests go through :class:`infra.chat_client.ChatClient` (its concurrency, pacing, retries, token
accounting and key handling). A request the server refuses for good (HTTP 4xx, e.g.
a context-length error) becomes a :class:`Generation` with ``error`` set, which the runner counts,
reports per item and never caches; any other failure (unreachable server, bad key, retries
exhausted) stops the run with one sentence, and the results already cached stay.

Before the first request the server's model listing is read once (``GET /models``): a ``--model``
the server does not list is refused, and the listed context length (vLLM's ``max_model_len``) is
what over-long prompts are screened against when a tokenizer is at hand (``--tokenizer`` or
``--ckpt``), before the checkpoint config's own limit. ``--max-model-len`` overrides both.

Identity: a served name alone says little (``vllm serve --served-model-name judge`` is common), so
:attr:`OpenAIBackend.model_id`, on which the cache keys, the default ``--out`` and ``run.json``
rest, is the name, the normalised base URL and a digest of what the listing reports for the model
(its ``root`` checkpoint, context length, owner; not the per-request ``created`` time). Two servers
serving one name are two judges unless ``--same-judge-as URL`` declares this one to be the judge
served at URL (a restarted server, another replica): the identity is then built with that URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from eval.backends.base import Generation, Messages, OnResult, Request, Sampling
from eval.backends.chat_tokens import ChatTokenizer, config_context_length
from eval.errors import BackendError, EvalError
from infra.chat_client import ChatClient, ChatClientError, ChatResult
from infra.chat_errors import ClientConfigError, RequestRejectedError
from infra.chat_types import read_api_key
from infra.redaction import strip_userinfo

_LISTED_LENGTH_KEYS = ("max_model_len", "context_length", "context_window")
_VOLATILE_LISTING_KEYS = ("created", "permission")  # vLLM stamps both anew on every GET /models
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OpenAIBackend:
    """Chat completions over HTTP; counts tokens locally only when given the model's tokenizer folder."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        concurrency: int = 16,
        requests_per_minute: float | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 6,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        tokenizer: str | None = None,
        max_model_len: int | None = None,
        same_judge_as: str | None = None,
    ) -> None:
        if not model:
            raise EvalError("--base-url needs --model, the model name the server serves (see its /v1/models).")
        self.base_url, self.model, self.api_key_env = base_url, model, api_key_env
        self.shown_url = strip_userinfo(base_url)
        self.concurrency, self.requests_per_minute = concurrency, requests_per_minute
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.tokenizer_path = tokenizer
        self.tokens = ChatTokenizer(tokenizer, chat_template_kwargs) if tokenizer else None
        self._limit = max_model_len
        self._listed: Mapping[str, Any] = {}  # the listing's entry for --model, if the server lists one
        self._probed = False
        self.same_judge_as = same_judge_as
        self.usage: dict[str, Any] = {}
        self._check_settings()

    @property
    def model_id(self) -> str:
        """``openai:<name>@<normalised URL>#<12 hex of URL, name and listing>`` (reads the listing once)."""
        self._probe()
        url = normalised_url(self.same_judge_as or self.base_url)
        entry = {k: v for k, v in self._listed.items() if k not in _VOLATILE_LISTING_KEYS}
        facts = json.dumps([url, self.model, entry], sort_keys=True, ensure_ascii=True, default=str)
        return f"openai:{self.model}@{url}#{hashlib.sha256(facts.encode()).hexdigest()[:12]}"

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self.shown_url, "model": self.model,
                "same_judge_as": self.same_judge_as and strip_userinfo(self.same_judge_as),
                "api_key_env": self.api_key_env, "concurrency": self.concurrency,
                "requests_per_minute": self.requests_per_minute, "timeout_s": self.timeout_s,
                "max_retries": self.max_retries, "context_limit": self._known_limit(),
                "chat_template_kwargs": self.chat_template_kwargs, "usage": self.usage}

    def context_limit(self) -> int | None:
        if self.tokens is None:
            return None  # nothing to count prompts with: the server enforces its limit itself
        self._probe()
        return self._known_limit()

    def prompt_tokens(self, messages: Messages) -> int | None:
        return len(self.tokens.ids(messages)) if self.tokens is not None else None

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        self._probe()
        body: dict[str, Any] = {"temperature": sampling.temperature, "top_p": sampling.top_p,
                                "max_tokens": sampling.max_new_tokens}
        if self.chat_template_kwargs:
            body["chat_template_kwargs"] = self.chat_template_kwargs  # vLLM and SGLang read this extension
        body |= continuation_fields(requests)

        def deliver(index: int, outcome: ChatResult | ChatClientError) -> None:
            if isinstance(outcome, RequestRejectedError):
                on_result(index, Generation(error=f"rejected by the server: {outcome}"))
            elif isinstance(outcome, ChatClientError):
                raise BackendError(f"{outcome} (results so far are cached: rerun the same command to resume)")
            else:
                on_result(index, Generation(outcome.text, outcome.finish_reason, outcome.prompt_tokens,
                                            outcome.completion_tokens))

        async def run() -> None:
            async with ChatClient(self.base_url, self.model, **self._client_options()) as client:
                try:
                    if sampling.greedy:
                        await client.chat_many([r.messages for r in requests], return_exceptions=True,
                                               on_result=deliver, **body)
                    else:  # one seed per request, so a rerun samples each request the same way
                        await asyncio.gather(*(self._one(client, i, r, body, sampling, deliver)
                                               for i, r in enumerate(requests)))
                finally:
                    self.usage = client.usage.to_dict()

        asyncio.run(run())

    async def _one(self, client: ChatClient, index: int, request: Request, body: dict[str, Any],
                   sampling: Sampling, deliver: Any) -> None:
        try:
            outcome: ChatResult | ChatClientError = await client.chat(
                request.messages, **body, seed=sampling.request_seed(request.key))
        except ChatClientError as err:
            outcome = err
        deliver(index, outcome)

    def close(self) -> None:
        """Nothing to release: each generate call opens and closes its own client."""

    def _known_limit(self) -> int | None:
        """--max-model-len, else the length the listing states for --model, else the tokenizer's config's."""
        listed = next((v for key in _LISTED_LENGTH_KEYS if type(v := self._listed.get(key)) is int and v > 0), None)
        return self._limit or listed or (config_context_length(self.tokenizer_path) if self.tokenizer_path else None)

    def _probe(self) -> None:
        """Read the model listing once: refuse an unlisted --model, note the listed context length."""
        if self._probed:
            return
        self._probed = True

        async def listing() -> list[dict[str, Any]] | None:
            async with ChatClient(self.base_url, self.model, **self._client_options()) as client:
                return await client.list_models()

        try:
            models = asyncio.run(listing())
        except ChatClientError as err:  # nothing answers at --base-url: the run cannot start (exit 1)
            self._probed = False
            raise BackendError(str(err)) from None
        if not models:
            return  # no listing: the chat requests report a wrong model themselves
        served = [str(m.get("id")) for m in models if m.get("id") is not None]
        if served and self.model not in served:
            shown = ", ".join(repr(s) for s in served[:8]) + (", ..." if len(served) > 8 else "")
            raise EvalError(f"--model {self.model!r} is not served at {self.shown_url} (it serves {shown}); "
                            "pass one of those names.")
        self._listed = next((m for m in models if m.get("id") == self.model), {})

    def _client_options(self) -> dict[str, Any]:
        return {"api_key_env": self.api_key_env, "max_concurrency": self.concurrency,
                "requests_per_minute": self.requests_per_minute, "timeout_s": self.timeout_s,
                "max_retries": self.max_retries}

    def _check_settings(self) -> None:
        """Fail before any work on a bad URL or a key variable that is unset (the flag types refuse bad numbers)."""
        for flag, value in (("--base-url", self.base_url), ("--same-judge-as", self.same_judge_as)):
            if value is not None and normalised_url(value) == "":
                raise EvalError(f"{flag} {strip_userinfo(value)!r} is not an http(s) URL; pass e.g. "
                                "http://127.0.0.1:8000/v1.")
        try:
            read_api_key(self.api_key_env)
        except ClientConfigError as err:
            raise EvalError(str(err)) from err


def continuation_fields(requests: Sequence[Request]) -> dict[str, Any]:
    """vLLM's and SGLang's request fields that continue a last assistant message instead of closing it.

    Requests ending with an assistant message are prefixes the model continues (the robustness suite's
    intervention); a batch is all prefixes or none, since the fields apply to the whole call.
    """
    prefixed = {bool(r.messages) and r.messages[-1]["role"] == "assistant" for r in requests}
    if len(prefixed) > 1:
        raise BackendError("a batch mixes assistant prefixes with ordinary requests; send them in separate calls.")
    return {"continue_final_message": True, "add_generation_prompt": False} if prefixed == {True} else {}


def normalised_url(text: str) -> str:
    """``scheme://host:port/path``, lower-case and port explicit (no credentials or query); "" if not http(s)."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        return ""
    if url.scheme not in _DEFAULT_PORTS or not url.host:
        return ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host.lower()}:{url.port or _DEFAULT_PORTS[url.scheme]}{url.path.rstrip('/')}"
