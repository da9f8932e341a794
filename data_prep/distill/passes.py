"""Teacher passes of distillation (the teacher, its answer cache, the spend cap and the correction request):
ask (or read the cache), assemble the trace, check it.

Pass 1 asks with each row's own judge prompt, pass 2 with the correction request
(:func:`correction_messages`). Every answer is cached before it is used and never asked for again;
before each new request its worst case is reserved against the spend cap
(:meth:`Accounting.reserve`): a request that could pass it is not sent, the
ones in flight finish and are cached, and the pass reports the rows it did not ask.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tqdm import tqdm

from data_prep.distill.checks import TraceCheck, assemble_trace, check_trace
from data_prep.errors import DataPrepError
from infra.chat_client import ChatClient
from infra.chat_errors import (
    AuthError,
    ChatClientError,
    ClientConfigError,
    EndpointError,
    UnknownModelError,
    UnreachableError,
)
from infra.chat_types import Prices
from infra.cli_errors import RunFailed
from infra.redaction import MASK, is_secret_name, redact, strip_userinfo
from infra.response_log import ResponseLog
from infra.user_json import BadJson, parse_json
from reward_fns import format_verdict

_FATAL = (AuthError, ClientConfigError, EndpointError, UnknownModelError)  # every request would fail the same way
CORRECTION_PROMPT_VERSION = "fix-v1"
NO_ANSWER = "(no judgment was returned)"

_PROBLEMS = {
    "wrong_verdict": "reached the wrong verdict",
    "no_verdict": "does not end with exactly one verdict in the required format",
    "truncated": "was cut off before it finished",
    "incomplete_structure": "skips part of the required structure",
    "too_long": "is longer than a training example may be",
}
_TEMPLATE = (
    "Your judgment above {problem}. The better reply is Chatbot {label}'s. Write a new, complete judgment of the "
    "same two replies from scratch, following every instruction of the original request, that works out on the "
    "merits why Chatbot {label}'s reply is better and ends with {verdict}. Write it as an independent first "
    "judgment: do not mention this message, an earlier judgment, or that you were given the outcome."
)


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

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, _entry, lambda entry: entry.key, error=CacheError, what="distill cache", fsync=True,
                         looks_torn=lambda tail: _RECORD_START.startswith(tail) or tail.startswith(_RECORD_START))
        if self.bad_lines and not self.records:
            raise CacheError(f"{self.path} holds no teacher answers ({self.bad_lines} unreadable lines); it is not a "
                             "distill cache, so pass --cache another path (a fresh one asks the teacher again).")

    def put(self, entry: CachedResponse) -> None:
        self.write(entry, json.dumps(asdict(entry), sort_keys=True, ensure_ascii=False))


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


# Tokens a chat template adds around each message (role markers, separators): generous, it is a bound.
_PER_MESSAGE = 16


def token_bound(messages: Sequence[Mapping[str, str]]) -> int:
    """At most this many tokens, for any BPE tokenizer: every token stands for one byte or more."""
    return sum(len(m["content"].encode("utf-8", "surrogatepass")) + _PER_MESSAGE for m in messages) + _PER_MESSAGE


def text_bound(*texts: str | None) -> int:
    """At most this many tokens in the answer texts (the same bound, for a teacher that reports no usage)."""
    return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts if t)


@dataclass
class Tokens:
    """Requests and tokens of one pass (or of everything)."""

    responses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    missing_usage: int = 0

    def add(self, prompt: int | None, completion: int | None, local: tuple[int, int] | None = None) -> None:
        self.responses += 1
        if prompt is None or completion is None:
            self.missing_usage += 1
            if local is None:
                return
            prompt = local[0] if prompt is None else prompt
            completion = local[1] if completion is None else completion
        self.prompt_tokens += prompt
        self.completion_tokens += completion

    def cost(self, prices: Prices | None) -> float | None:
        return None if prices is None else prices.cost(self.prompt_tokens, self.completion_tokens)

    def to_dict(self, prices: Prices | None) -> dict[str, Any]:
        cost = self.cost(prices)
        return {**vars(self), "cost_usd": None if cost is None else round(cost, 6)}


@dataclass
class Accounting:
    """Tokens and cost per pass: ``total`` over every response the output is built from (cached ones included:
    what the data cost), ``this_run`` over the requests sent now. Costs are the user's prices (USD per million
    prompt / completion tokens) on the tokens each response's ``usage`` reports; a response without ``usage``
    is costed from local counts (:func:`token_bound`: an upper bound) and counted in ``missing_usage``.

    The spend cap (``--max-cost``) applies to the total, so a rerun with the same cap does not spend it again,
    and it is hard: :meth:`reserve` sets aside a request's worst case before it is sent, whatever the
    concurrency.

    >>> spend = Accounting(Prices(2.0, 8.0), max_cost=1.0)
    >>> spend.add("pass1", 100_000, 50_000, cached=False)
    >>> round(spend.total_cost, 6), spend.reserve([{"role": "user", "content": "hi"}], max_tokens=100_000)
    (0.6, None)
    """

    prices: Prices | None = None
    max_cost: float | None = None
    total: dict[str, Tokens] = field(default_factory=lambda: defaultdict(Tokens))
    this_run: dict[str, Tokens] = field(default_factory=lambda: defaultdict(Tokens))
    cache_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    reserved: float = 0.0  # USD set aside for the requests in flight

    def add(self, purpose: str, prompt: int | None, completion: int | None, *, cached: bool,
            local: tuple[int, int] | None = None) -> None:
        """Count one response of pass ``purpose`` (``cached``: read from the cache, not paid now).

        ``local`` (prompt, completion token bounds) stands in for counts the teacher did not report.
        """
        self.total[purpose].add(prompt, completion, local)
        if cached:
            self.cache_hits[purpose] += 1
        else:
            self.this_run[purpose].add(prompt, completion, local)

    def reserve(self, messages: Sequence[Mapping[str, str]], max_tokens: int) -> float | None:
        """Set aside a request's worst-case cost and return it, or None when that could pass the cap."""
        if self.max_cost is None or self.prices is None:
            return 0.0
        worst = self.prices.cost(token_bound(messages), max_tokens)
        if self.total_cost + self.reserved + worst > self.max_cost:
            return None
        self.reserved += worst
        return worst

    def release(self, amount: float) -> None:
        """Give back a reservation once its answer is counted (or its request failed)."""
        self.reserved = max(0.0, self.reserved - amount)

    @property
    def total_cost(self) -> float:
        return sum(t.cost(self.prices) or 0.0 for t in self.total.values())

    def summary(self) -> dict[str, Any]:
        """What the manifest's ``counts.tokens`` records (reproducible: cached and new alike)."""
        every = Tokens(*map(sum, zip(*map(astuple, self.total.values()), strict=True)))  # field by field
        return {"per_pass": {p: t.to_dict(self.prices) for p, t in sorted(self.total.items())},
                "all": every.to_dict(self.prices)}

    def run_summary(self) -> dict[str, Any]:
        """This run's new requests, cache hits and spend (volatile: a rerun differs)."""
        return {"new": {p: t.to_dict(self.prices) for p, t in sorted(self.this_run.items())},
                "cache_hits": dict(sorted(self.cache_hits.items())),
                "cost_usd": round(sum(t.cost(self.prices) or 0.0 for t in self.this_run.values()), 6)
                if self.prices else None}


class TeacherError(DataPrepError):
    """The teacher endpoint cannot be used as given (URL, model, key); nothing more is asked."""


class TeacherUnreachable(RunFailed):
    """Nothing answers at the teacher URL: the run failed (exit 1, as in eval); the cache keeps what was paid for."""


@dataclass(frozen=True)
class Teacher:
    """One OpenAI-compatible endpoint and how to ask it (recorded in the manifest, never the key)."""

    base_url: str
    model: str
    api_key_env: str | None = None
    max_concurrency: int = 8
    requests_per_minute: float | None = None
    timeout_s: float = 600.0
    max_retries: int = 6
    backoff_base_s: float = 1.0
    sampling: Mapping[str, Any] = field(default_factory=dict)

    def client(self) -> ChatClient:
        return ChatClient(**vars(self))  # bounded concurrency, pacing, retries with backoff

    def check(self, purpose: str) -> None:
        """Refuse a bad URL, model name, key variable or client setting before any request or write."""
        try:
            asyncio.run(self.client().aclose())
        except ClientConfigError as err:
            raise TeacherError(f"{purpose} teacher {self.model!r}: {err}") from None

    def url_secrets(self) -> list[str]:
        """The password inside the URL (``http://user:pass@host``), never to be stored or shown."""
        password = urlsplit(self.base_url).password
        return [password] if password and len(password) >= 4 else []

    def describe(self) -> dict[str, Any]:
        shown = {k: v for k, v in vars(self).items() if k != "backoff_base_s"}
        return shown | {"base_url": strip_userinfo(self.base_url), "sampling": self.public_sampling()}

    def public_sampling(self) -> dict[str, Any]:
        """The sampling fields as manifests record them: values under secret-looking names masked."""
        return _masked(self.sampling)


@dataclass(frozen=True)
class DistillRow:
    """One row to distill: its judge prompt and the position of the chosen answer."""

    row_id: str
    prompt: tuple[Mapping[str, str], ...]
    ground_truth: str
    variant: str
    data_source: str
    extra_info: Mapping[str, Any]


@dataclass(frozen=True)
class Job:
    """One request of a pass: the row and the messages to send for it."""

    row: DistillRow
    messages: Sequence[Mapping[str, str]]


@dataclass(frozen=True)
class Attempt:
    """What one pass made of one row."""

    row: DistillRow
    purpose: str
    trace: str | None
    check: TraceCheck
    response: CachedResponse | None = None


@dataclass
class PassResult:
    """Attempts by row id, and the rows the spend cap kept from being asked."""

    attempts: dict[str, Attempt]
    not_asked: list[str]


async def run_pass(purpose: str, jobs: Sequence[Job], teacher: Teacher, cache: ResponseCache, accounting: Accounting,
                   *, check_leak: bool, progress: bool, too_long: Callable[[DistillRow], str | None]) -> PassResult:
    """Run one pass; ``too_long(row)`` says why a row's prompt alone is already over the length limit (it is then
    refused without a request), or None."""
    result = PassResult({}, [])
    sampling = dict(teacher.sampling)
    max_tokens = int(sampling.get("max_tokens") or 0)
    gate = asyncio.Semaphore(teacher.max_concurrency)  # the cap is checked right before a request is sent
    bar = tqdm(total=len(jobs), desc=f"{purpose} ({teacher.model})", unit=" rows", disable=not progress,
               mininterval=0.5)

    async def one(job: Job, client: ChatClient) -> None:
        key = request_key(teacher.model, job.messages, sampling)
        if over := too_long(job.row):
            result.attempts[job.row.row_id] = Attempt(job.row, purpose, None, TraceCheck("too_long", over))
        elif (response := cache.get(key)) is not None:
            accounting.add(purpose, response.prompt_tokens, response.completion_tokens, cached=True,
                           local=_local_counts(job, response, max_tokens))
            result.attempts[job.row.row_id] = _attempt(job.row, purpose, response, check_leak)
        else:
            async with gate:
                held = accounting.reserve(job.messages, max_tokens)  # the worst case, before anything is sent
                if held is None:
                    result.not_asked.append(job.row.row_id)
                    bar.update(1)
                    return
                try:
                    response = await _ask(client, job, key, purpose, teacher.model, teacher.url_secrets())
                    if response is not None:
                        cache.put(response)
                        accounting.add(purpose, response.prompt_tokens, response.completion_tokens, cached=False,
                                       local=_local_counts(job, response, max_tokens))
                finally:
                    accounting.release(held)
            result.attempts[job.row.row_id] = _attempt(job.row, purpose, response, check_leak)
        bar.update(1)

    try:
        async with teacher.client() as client:
            tasks = [asyncio.ensure_future(one(job, client)) for job in jobs]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    except _FATAL as err:
        kind = TeacherUnreachable if isinstance(err, UnreachableError) else TeacherError
        raise kind(f"{purpose} teacher {teacher.model!r}: {err}") from None
    finally:
        bar.close()
    result.not_asked.sort()
    return result


def _local_counts(job: Job, response: CachedResponse, max_tokens: int) -> tuple[int, int]:
    """Token bounds of the request and its answer (at most ``max_tokens``), for a teacher that reported no usage."""
    answer = text_bound(response.content, response.reasoning)
    return token_bound(job.messages), min(answer, max_tokens) if max_tokens > 0 else answer


async def _ask(client: ChatClient, job: Job, key: str, purpose: str, model: str,
               secrets: Sequence[str]) -> CachedResponse | None:
    """The teacher's answer, or None when this request failed for good (it is not cached: a rerun retries).

    The client already masks the API key wherever a server echoes it; credentials inside the URL are
    masked here, before the answer reaches the cache or a trace.
    """
    try:
        answer = await client.chat(job.messages)
    except _FATAL:
        raise
    except ChatClientError:  # retries exhausted or the request rejected
        return None
    choice = answer.choices[0]
    reasoning = None if choice.reasoning is None else redact(choice.reasoning, secrets)
    return CachedResponse(key=key, purpose=purpose, row_id=job.row.row_id, model=model,
                          content=redact(choice.text, secrets), reasoning=reasoning, finish_reason=choice.finish_reason,
                          prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)


def _masked(value: Any, name: str = "") -> Any:
    if isinstance(value, Mapping):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, name) for v in value]
    return MASK if isinstance(value, str) and value and is_secret_name(name) else value


def _attempt(row: DistillRow, purpose: str, response: CachedResponse | None, check_leak: bool) -> Attempt:
    if response is None:
        return Attempt(row, purpose, None, TraceCheck("request_failed", "retries exhausted or request rejected"))
    trace = assemble_trace(response.content, response.reasoning, row.variant)
    check = check_trace(trace, row.ground_truth, row.variant, finish_reason=response.finish_reason,
                        check_leak=check_leak)
    return Attempt(row, purpose, trace, check, response)


def correction_messages(
    prompt: Sequence[Mapping[str, str]], failed_trace: str | None, reason: str, label: str
) -> list[dict[str, str]]:
    """Pass 2's request: the judge prompt, the failed judgment as the assistant turn, then one user turn that says
    what was wrong and which verdict is correct and asks for a complete new judgment as if from scratch. Bump
    :data:`CORRECTION_PROMPT_VERSION` whenever the wording changes (a test pins its hash)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
    messages.append({"role": "assistant", "content": failed_trace if failed_trace and failed_trace.strip()
                     else NO_ANSWER})
    problem = _PROBLEMS.get(reason, "does not meet the requirements")
    messages.append({"role": "user", "content": _TEMPLATE.format(problem=problem, label=label,
                                                                 verdict=format_verdict(label))})
    return messages


def correction_sha256() -> str:
    """Hash of the wording (template and problem phrases), recorded in the manifest."""
    blob = _TEMPLATE + "\n" + "\n".join(f"{k}={v}" for k, v in sorted(_PROBLEMS.items())) + "\n" + NO_ANSWER
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
