"""One async client for OpenAI-compatible chat-completions servers (OpenAI, vLLM, SGLang, proxies).

Built on ``httpx`` rather than the ``openai`` package: httpx is already a core dependency, and the
retry policy is ours to own. The ``openai`` SDK runs its own retry loop (which would stack with ours,
multiplying attempts and hiding call counts), parses into pydantic models that reject the small
deviations of self-hosted servers, and would add a dependency to every Ray worker that imports this.

What it guarantees: at most ``max_concurrency`` requests in flight (a slot is held through a request's
retries, so a 429 storm cannot widen the fan-out); starts paced to ``requests_per_minute``; each attempt
bounded by ``timeout_s``; 429, 408, 5xx, timeouts, connection resets and malformed bodies retried with
exponential backoff and jitter (``Retry-After`` honoured, capped at ``backoff_max_s``); prompt/completion
tokens summed from each response's ``usage`` and priced with user-supplied :class:`Prices`.

The API key is read once from the environment variable named by ``api_key_env`` and lives only in the
HTTP client's headers (whose repr shows ``[secure]``); it is never logged, never in an error message
(server text quoting it is redacted) and not part of :meth:`ChatClient.describe`.

>>> async def judge(messages):  # doctest: +SKIP
...     async with ChatClient("http://127.0.0.1:8000/v1", "my-judge", api_key_env="JUDGE_API_KEY") as client:
...         return (await client.chat(messages, temperature=0.0, max_tokens=4096)).text
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from infra.chat_errors import (
    ChatClientError,
    ClientConfigError,
    RequestRejectedError,
    RetriesExhaustedError,
    TransientError,
    UnreachableError,
    error_for_status,
)
from infra.chat_types import BatchResult, ChatResult, Prices, UsageTotals, parse_completion, read_api_key
from infra.redaction import MASK, strip_userinfo

log = logging.getLogger(__name__)
Messages = Sequence[Mapping[str, Any]]
_RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

__all__ = ["BatchResult", "ChatClient", "ChatClientError", "ChatResult", "Prices", "UsageTotals", "chat_batch"]


class ChatClient:
    """Async chat-completions client with bounded concurrency, pacing, retries and token accounting.

    Use it from one event loop (``async with``); :func:`chat_batch` wraps it for synchronous scripts.
    ``sampling`` holds defaults (temperature, max_tokens, ...) merged under each call's keyword arguments.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 6,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        prices: Prices | None = None,
        sampling: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        url = _checked_base_url(base_url)
        if not model:
            raise ClientConfigError("the model name is empty; pass the model name the server serves (see its /models).")
        if max_concurrency < 1 or max_retries < 0 or not timeout_s > 0:
            raise ClientConfigError(
                f"the request concurrency {max_concurrency}, retry budget {max_retries} or timeout {timeout_s:g} s "
                "is out of range; use a concurrency of 1 or more, 0 or more retries and a timeout above 0 seconds."
            )
        self.base_url, self.model, self.api_key_env = url, model, api_key_env
        self.shown_url = strip_userinfo(url)  # what messages and metadata say: never user:password@
        self.max_concurrency, self.timeout_s, self.max_retries = max_concurrency, timeout_s, max_retries
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.requests_per_minute, self.prices = requests_per_minute, prices
        self.sampling = dict(sampling or {})
        self.usage = UsageTotals()
        self._secret = read_api_key(api_key_env)
        self._pacer = RequestPacer(requests_per_minute)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._rng = random.Random(seed)  # jitter only; seeded so a rerun waits the same way
        self._reached_server = False
        headers = {"Authorization": f"Bearer {self._secret.reveal()}"} if self._secret else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            trust_env=httpx.URL(url).host not in _LOOPBACK_HOSTS,  # loopback traffic never goes via a proxy
        )

    def __repr__(self) -> str:
        return f"ChatClient({self.shown_url!r}, {self.model!r}, api_key_env={self.api_key_env!r})"

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def describe(self) -> dict[str, Any]:
        """Settings worth recording in run metadata (``RunMetadata.config``); never the key."""
        return {
            "base_url": self.shown_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
            "max_concurrency": self.max_concurrency,
            "requests_per_minute": self.requests_per_minute,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
        }

    async def chat(self, messages: Messages, **sampling: Any) -> ChatResult:
        """One chat completion; keyword arguments (temperature, max_tokens, n, ...) go into the request body."""
        body = {**self.sampling, **sampling, "model": self.model, "messages": [dict(m) for m in messages]}
        async with self._slots:
            started = time.monotonic()
            for attempt in range(self.max_retries + 1):
                await self._pacer.wait()
                self.usage.attempts += 1
                try:
                    data = await self._attempt(body)
                    result = parse_completion(data, attempt + 1, time.monotonic() - started, self.prices)
                except TransientError as err:
                    if attempt == self.max_retries:
                        self.usage.failures += 1
                        raise self._exhausted(attempt + 1, err) from None
                    await self._back_off(attempt, err)
                except ChatClientError:
                    self.usage.failures += 1
                    raise
                else:
                    self._check_choices(result, body.get("n"))
                    self.usage.add(result)
                    return result
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _check_choices(self, result: ChatResult, asked: Any) -> None:
        """Refuse (and count) choices beyond the ``n`` asked for: which one answers the request is unknowable."""
        wanted = asked if type(asked) is int and asked > 0 else 1
        extra = len(result.choices) - wanted
        if extra > 0:
            self.usage.extra_choices += extra
            self.usage.failures += 1
            raise RequestRejectedError(
                f"the server at {self.shown_url} sent {len(result.choices)} choices for a request asking for {wanted}; "
                "check that it honours the request's n (the answer was not used).", 200)

    async def list_models(self) -> list[dict[str, Any]] | None:
        """The server's model listing (``GET /models`` entries), or None if it has none or cannot be read.

        One attempt, no retries: callers use it to check a model name, read its context length (vLLM
        lists ``max_model_len``) and identify what is served; a refused connection is an UnreachableError.
        """
        try:
            response = await asyncio.wait_for(self._http.get(f"{self.base_url}/models"), min(self.timeout_s, 30.0))
            data = response.json() if response.status_code == 200 else None
        except httpx.ConnectError:
            raise self._unreachable() from None
        except (asyncio.TimeoutError, httpx.HTTPError, ValueError):
            return None
        models = data.get("data") if isinstance(data, dict) else None
        return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else None

    async def chat_many(
        self,
        conversations: Sequence[Messages],
        *,
        return_exceptions: bool = False,
        on_result: Callable[[int, ChatResult | ChatClientError], None] | None = None,
        **sampling: Any,
    ) -> list[ChatResult | ChatClientError]:
        """Complete many conversations concurrently; results keep the input order.

        ``on_result(index, result_or_error)`` runs as each one finishes (write a cache line there so a
        crash loses nothing). With ``return_exceptions`` a failed item yields its error instead of
        cancelling the rest.
        """
        async def one(index: int, messages: Messages) -> ChatResult | ChatClientError:
            try:
                outcome: ChatResult | ChatClientError = await self.chat(messages, **sampling)
            except ChatClientError as err:
                if not return_exceptions:
                    raise
                outcome = err
            if on_result is not None:
                on_result(index, outcome)
            return outcome

        tasks = [asyncio.ensure_future(one(i, m)) for i, m in enumerate(conversations)]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _attempt(self, body: dict[str, Any]) -> Any:
        """One HTTP attempt: the decoded JSON body, or TransientError / a ChatClientError."""
        url = f"{self.base_url}/chat/completions"
        try:
            response = await asyncio.wait_for(self._http.post(url, json=body), self.timeout_s)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise TransientError(f"no answer within {self.timeout_s:g} s") from None
        except httpx.ConnectError:
            if self._reached_server:  # it answered before: a restart or a blip, worth waiting for
                raise TransientError("connection refused") from None
            raise self._unreachable() from None
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            raise TransientError("connection reset") from None
        self._reached_server = True
        status = response.status_code
        if status in _RETRY_STATUSES or status >= 500:
            raise TransientError(f"HTTP {status}", self._retry_after(response.headers))
        if status >= 400:
            raise error_for_status(
                status, response.content, url=strip_userinfo(url), base_url=self.shown_url, model=self.model,
                key_env=self.api_key_env, secret=self._secret.reveal() if self._secret else None,
            )
        try:
            data = response.json()
        except ValueError:
            raise TransientError("malformed JSON in a 200 response") from None
        # Some servers echo the credentials they received inside a normal answer: the key must never
        # reach a cache, a dataset or a log through a result.
        return scrub(data, self._secret.reveal()) if self._secret else data

    @staticmethod
    def _retry_after(headers: httpx.Headers) -> float | None:
        millis = parse_retry_after(headers.get("retry-after-ms"))  # OpenAI's finer-grained variant
        return millis / 1000 if millis is not None else parse_retry_after(headers.get("retry-after"))

    async def _back_off(self, attempt: int, err: TransientError) -> None:
        if err.retry_after is not None:  # the server knows best; a little jitter de-synchronises waiters
            delay = min(self.backoff_max_s, err.retry_after * (1 + 0.1 * self._rng.random()))
        else:
            delay = backoff_delay(attempt, self.backoff_base_s, self.backoff_max_s, self._rng)
        self.usage.retries += 1
        log.warning(
            "chat request to %s failed (%s); retry %d of %d in %.2fs",
            self.shown_url, err.reason, attempt + 1, self.max_retries, delay,
        )
        await asyncio.sleep(delay)

    def _unreachable(self) -> UnreachableError:
        return UnreachableError(
            f"could not connect to {self.shown_url}; check the host and port and that the server is running.")

    def _exhausted(self, attempts: int, err: TransientError) -> RetriesExhaustedError:
        return RetriesExhaustedError(
            f"the chat request to {self.shown_url} failed {attempts} times (last: {err.reason}); "
            "retry later, or allow more retries or a longer timeout.",
            attempts,
            err.reason,
        )


def chat_batch(
    conversations: Sequence[Messages],
    *,
    base_url: str,
    model: str,
    sampling: Mapping[str, Any] | None = None,
    return_exceptions: bool = False,
    on_result: Callable[[int, ChatResult | ChatClientError], None] | None = None,
    **client_options: Any,
) -> BatchResult:
    """Synchronous helper for scripts: run :meth:`ChatClient.chat_many` in a fresh event loop.

    ``client_options`` are :class:`ChatClient` keyword arguments (api_key_env, max_concurrency,
    requests_per_minute, prices, ...). Returns the results in input order with the usage totals.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise ChatClientError("chat_batch cannot run inside a running event loop; await ChatClient.chat_many there.")

    async def run() -> BatchResult:
        async with ChatClient(base_url, model, sampling=sampling, **client_options) as client:
            results = await client.chat_many(conversations, return_exceptions=return_exceptions, on_result=on_result)
            return BatchResult(results, client.usage, client.describe())

    return asyncio.run(run())


def _checked_base_url(base_url: str) -> str:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ClientConfigError(
            f"the server URL {strip_userinfo(str(base_url))!r} is not an http(s) URL; pass e.g. http://127.0.0.1:8000/v1."
        )
    return str(base_url).rstrip("/")


def scrub(value: Any, secret: str) -> Any:
    """``value`` (decoded JSON) with ``secret`` masked in every string, keys included."""
    if isinstance(value, str):
        return value.replace(secret, MASK) if secret in value else value
    if isinstance(value, list):
        return [scrub(v, secret) for v in value]
    if isinstance(value, dict):
        return {scrub(k, secret): scrub(v, secret) for k, v in value.items()}
    return value


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): "equal jitter" in [d/2, d], d = min(cap, base * 2**attempt).

    Half the delay is fixed so the wait grows reliably; the random half spreads out clients that
    failed together, so they do not all come back at the same instant.
    """
    if attempt < 0 or base_s < 0 or cap_s < 0:
        raise ValueError(f"backoff needs attempt >= 0 and non-negative times, got {attempt}, {base_s}, {cap_s}.")
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 64))  # min(): 2**1000 would overflow to inf * 0 = nan
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a server asked us to wait: ``Retry-After`` as seconds (int or float) or an HTTP date.

    Returns None for a missing, negative, non-finite or unreadable value (the caller then backs off).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until_date(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RequestPacer:
    """Spaces request starts evenly: at most ``per_minute`` starts in any 60 seconds, never a burst.

    Even spacing (rather than a bucket that allows a burst of ``per_minute`` at once) is what providers'
    per-minute limits tolerate best, and it makes the bound easy to check. Use from one event loop.
    """

    def __init__(self, per_minute: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute is not None and not per_minute > 0:
            raise ValueError(f"requests_per_minute={per_minute!r} must be a positive number or None (no limit).")
        self.interval_s = 60.0 / per_minute if per_minute else 0.0
        self._clock = clock
        self._next = -math.inf

    def claim(self) -> float:
        """Reserve the next start slot; returns how many seconds to wait for it (0 if due now)."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval_s
        return slot - now

    async def wait(self) -> None:
        """Sleep until this caller's start slot."""
        delay = self.claim()
        if delay > 0:
            await asyncio.sleep(delay)
