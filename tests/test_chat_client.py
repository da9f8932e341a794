"""The chat client against the scripted loopback judge: retries, pacing, concurrency, accounting, errors, secrecy."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
import time
import uuid
from collections.abc import Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.chat_client import ChatClient, RequestPacer, backoff_delay, chat_batch, parse_retry_after
from infra.chat_errors import (
    AuthError,
    ChatClientError,
    ClientConfigError,
    EndpointError,
    RequestRejectedError,
    RetriesExhaustedError,
    UnknownModelError,
    error_for_status,
)
from infra.chat_types import Prices, UsageTotals, parse_completion
from infra.run_metadata import RunMetadata
from reward_fns import parse_verdict
from testkit.loopback_judge import Fault, LoopbackJudge
from testkit.loopback_policies import fixed_text, marker_policy, render_candidates

T = TypeVar("T")
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 1.0}  # millisecond backoff keeps the file fast
PROMPT = [{"role": "user", "content": render_candidates("a GOOD answer", "a weak answer")}]


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _one(judge: LoopbackJudge, **options: Any) -> Any:
    async with ChatClient(judge.base_url, judge.model, **{**FAST, **options}) as client:
        return await client.chat(PROMPT)


@pytest.mark.parametrize(
    ("faults", "options", "calls", "min_s", "max_s"),
    [
        ([Fault.rate_limit(0.2)], {}, 2, 0.2, 1.0),  # 429: waits Retry-After (not the 10 ms backoff)
        ([Fault.server_error(500), Fault.server_error(503)], {}, 3, 0.015, 1.0),  # 5xx twice: two backoffs
        ([Fault.reset()], {}, 2, 0.005, 1.0),  # connection reset
        ([Fault.malformed_json()], {}, 2, 0.005, 1.0),  # broken JSON in a 200
        ([Fault.slow(1.0)], {"timeout_s": 0.2}, 2, 0.2, 0.9),  # per-request timeout, then a retry
        ([Fault.truncated()], {}, 1, 0.0, 1.0),  # truncation is an answer, not a fault: no retry
    ],
)
def test_transient_faults_are_retried(
    faults: list[Fault], options: dict, calls: int, min_s: float, max_s: float
) -> None:
    with LoopbackJudge("always_a", faults=faults) as judge:
        start = time.monotonic()
        result = _run(_one(judge, **options))
        elapsed = time.monotonic() - start
        assert judge.call_count == calls
    assert result.attempts == calls
    assert min_s <= elapsed < max_s
    if faults[0].kind == "truncated":
        assert result.truncated and parse_verdict(result.text).label is None  # the caller sees the cut
    else:
        assert parse_verdict(result.text).label == "A"


def test_retries_stop_at_the_budget() -> None:
    with LoopbackJudge("always_a", faults=lambda i: Fault.server_error()) as judge:
        with pytest.raises(RetriesExhaustedError, match="failed 3 times") as info:
            _run(_one(judge, max_retries=2))
        assert judge.call_count == 3
    assert info.value.attempts == 3 and info.value.last_reason == "HTTP 500"


def test_backoff_grows_exponentially_between_calls() -> None:
    base = 0.04
    with LoopbackJudge("always_a", faults=[Fault.server_error()] * 3) as judge:
        _run(_one(judge, backoff_base_s=base, max_retries=3))
        starts = sorted(c.started for c in judge.calls)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    for attempt, gap in enumerate(gaps):
        ceiling = base * 2**attempt
        assert ceiling / 2 <= gap < ceiling + 0.25, (attempt, gap)  # [d/2, d] plus a request's round trip


def test_refused_connection_is_retried_once_the_server_was_reached() -> None:
    async def scenario(judge: LoopbackJudge) -> None:
        async with ChatClient(judge.base_url, judge.model, max_retries=2, **FAST) as client:
            await client.chat(PROMPT)
            judge.stop()  # the server goes away mid-run, as in a restart
            with pytest.raises(RetriesExhaustedError, match="connection refused"):
                await client.chat(PROMPT)
            assert client.usage.attempts == 4 and client.usage.failures == 1

    with LoopbackJudge("always_a") as judge:
        _run(scenario(judge))


@given(attempt=st.integers(0, 200), base=st.floats(0, 10), cap=st.floats(0, 100), seed=st.integers(0, 2**32))
def test_backoff_delay_stays_within_equal_jitter_bounds(attempt: int, base: float, cap: float, seed: int) -> None:
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    delay = backoff_delay(attempt, base, cap, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling
    assert delay == backoff_delay(attempt, base, cap, random.Random(seed))  # seeded: reproducible


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),  # integer seconds
        (" 0.25 ", 0.25),  # fractional seconds, padded
        ("0", 0.0),  # retry now
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),  # an HTTP date 30 s ahead
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # an HTTP date in the past
        ("-1", None),  # negative: ignored
        ("inf", None),  # not finite: ignored
        ("nan", None),  # not finite: ignored
        ("soon", None),  # unreadable
        (None, None),  # absent
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@given(st.text(max_size=30))
def test_parse_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or seconds >= 0


def test_pacer_spaces_starts_evenly() -> None:
    clock = [100.0]
    pacer = RequestPacer(120, clock=lambda: clock[0])  # one start every 0.5 s
    assert [pacer.claim() for _ in range(3)] == [0.0, 0.5, 1.0]
    clock[0] += 10  # idle for a while: no burst credit builds up beyond the next slot
    assert [pacer.claim() for _ in range(2)] == [0.0, 0.5]
    assert RequestPacer(None).claim() == 0.0  # no limit


def test_requests_per_minute_limit_is_honoured() -> None:
    with LoopbackJudge("always_a") as judge:
        start = time.monotonic()
        result = chat_batch([PROMPT] * 5, base_url=judge.base_url, model=judge.model, requests_per_minute=600)
        elapsed = time.monotonic() - start
        arrivals = sorted(c.started for c in judge.calls)
    assert result.usage.requests == 5
    # 600/min = one start per 100 ms: 5 starts span >= 400 ms at the client. Arrival times at the server
    # carry connection-setup noise, so allow one interval of slack there; unpaced, all 5 land within ~10 ms.
    assert elapsed >= 0.4
    assert arrivals[-1] - arrivals[0] >= 0.3


@pytest.mark.parametrize(
    ("limit", "faults"),
    [
        (1, ()),  # strictly one at a time
        (3, ()),  # three at a time
        (3, [Fault.rate_limit(0.05)] * 4),  # retries keep their slot: a 429 storm does not widen the fan-out
    ],
)
def test_concurrency_bound_is_honoured(limit: int, faults: list[Fault]) -> None:
    n, delay = 6, 0.1
    with LoopbackJudge("always_a", delay_s=delay, faults=faults) as judge:
        start = time.monotonic()
        result = chat_batch([PROMPT] * n, base_url=judge.base_url, model=judge.model, max_concurrency=limit, **FAST)
        elapsed = time.monotonic() - start
        assert judge.max_in_flight == limit
    assert len(result.results) == n
    assert elapsed >= delay * n / limit * 0.9


def test_tokens_and_cost_are_summed_from_usage() -> None:
    prices = Prices(prompt_per_mtok=2.0, completion_per_mtok=8.0)
    with LoopbackJudge("always_b") as judge:
        batch = chat_batch([PROMPT] * 3, base_url=judge.base_url, model=judge.model, prices=prices, sampling={"n": 2})
    per = batch.results[0]
    assert len(per.choices) == 2 and per.prompt_tokens == len(PROMPT[0]["content"].split())
    assert per.completion_tokens == 2 * len(per.text.split())
    usage = batch.usage
    assert (usage.requests, usage.attempts, usage.retries, usage.failures) == (3, 3, 0, 0)
    assert usage.prompt_tokens == 3 * per.prompt_tokens and usage.completion_tokens == 3 * per.completion_tokens
    assert usage.cost_usd == pytest.approx((usage.prompt_tokens * 2.0 + usage.completion_tokens * 8.0) / 1e6)
    assert per.cost_usd == pytest.approx(usage.cost_usd / 3)


@pytest.mark.parametrize(
    ("body", "text", "tokens", "reasoning"),
    [
        ({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}, "hi", (None, None), None),  # no usage
        ({"choices": [{"message": {"content": None}}], "usage": {"prompt_tokens": 3, "completion_tokens": 0}}, "",
         (3, 0), None),  # refusal/tool call: no content
        ({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]}, "ab", (None, None),
         None),  # content as a list of parts
        ({"choices": [{"message": {"content": "v", "reasoning_content": "r"}}]}, "v", (None, None), "r"),  # vLLM
        ({"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": True, "completion_tokens": -1}}, "x",
         (None, None), None),  # nonsense counts are not counted
    ],
)
def test_parse_completion_shapes(body: dict, text: str, tokens: tuple, reasoning: str | None) -> None:
    result = parse_completion(body, 1, 0.0, Prices(1.0, 1.0))
    assert (result.text, (result.prompt_tokens, result.completion_tokens)) == (text, tokens)
    assert result.choices[0].reasoning == reasoning
    assert (result.cost_usd is None) == (tokens[0] is None)
    totals = UsageTotals()
    totals.add(result)
    assert totals.missing_usage == (1 if tokens[0] is None else 0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _error_case(case: str, judge: LoopbackJudge, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, dict]:
    """(base_url, model, options) that provoke the named mistake."""
    monkeypatch.setenv("LOOPBACK_GOOD_KEY", "right-key")
    monkeypatch.setenv("LOOPBACK_BAD_KEY", "wrong-key")
    monkeypatch.delenv("LOOPBACK_UNSET_KEY", raising=False)
    url, model = judge.base_url, judge.model
    return {
        "refused": (f"http://127.0.0.1:{_free_port()}/v1", model, {}),
        "no_v1": (url.removesuffix("/v1"), model, {"api_key_env": "LOOPBACK_GOOD_KEY"}),
        "no_key": (url, model, {}),
        "bad_key": (url, model, {"api_key_env": "LOOPBACK_BAD_KEY"}),
        "model": (url, "no-such-model", {"api_key_env": "LOOPBACK_GOOD_KEY"}),
        "scheme": ("127.0.0.1:8000/v1", model, {}),
        "unset": (url, model, {"api_key_env": "LOOPBACK_UNSET_KEY"}),
        "key_as_name": (url, model, {"api_key_env": "sk-live-abc123"}),
    }[case]


@pytest.mark.parametrize(
    ("case", "error", "named", "calls"),
    [
        ("refused", EndpointError, "could not connect", 0),  # nothing listens: fail fast, no retries
        ("no_v1", EndpointError, "/v1", 0),  # the path misses /v1: 404 on a route the judge does not count
        ("no_key", AuthError, "--api-key-env", 1),  # 401 and no key configured
        ("bad_key", AuthError, "LOOPBACK_BAD_KEY", 1),  # 401 with the named variable's key
        ("model", UnknownModelError, "no-such-model", 1),  # the server does not serve it
        ("scheme", ClientConfigError, "127.0.0.1:8000/v1", 0),  # no http:// in front
        ("unset", ClientConfigError, "LOOPBACK_UNSET_KEY", 0),  # the key variable is unset
        ("key_as_name", ClientConfigError, "NAME of an environment variable", 0),  # the key passed as the name
    ],
)
def test_user_mistakes_get_one_sentence(
    case: str, error: type[Exception], named: str, calls: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackJudge("always_a", api_key="right-key") as judge:
        base_url, model, options = _error_case(case, judge, monkeypatch)

        async def attempt() -> None:
            async with ChatClient(base_url, model, **{**FAST, **options}) as client:
                await client.chat(PROMPT)

        with pytest.raises(error) as info:
            _run(attempt())
        assert judge.call_count == calls
    message = str(info.value)
    assert named in message and "\n" not in message and message.endswith(".")
    assert "abc123" not in message  # a key pasted as the variable name is never echoed


def test_rejected_request_is_not_retried() -> None:
    bad = [{"role": "user", "content": "candidates framed another way"}]  # the judge answers 400
    with LoopbackJudge("follow_injection") as judge:
        batch = chat_batch([PROMPT, bad, PROMPT], base_url=judge.base_url, model=judge.model, return_exceptions=True)
        assert judge.call_count == 3
    ok, rejected, ok_again = batch.results
    assert isinstance(rejected, RequestRejectedError) and rejected.status == 400 and "extractor" in str(rejected)
    assert parse_verdict(ok.text).label == parse_verdict(ok_again.text).label == "A"
    assert (batch.usage.requests, batch.usage.failures) == (2, 1)


def test_batch_keeps_order_and_reports_each_result() -> None:
    prompts = [[{"role": "user", "content": render_candidates(*pair)}] for pair in
               [("GOOD", "x"), ("x", "GOOD"), ("x", "GOOD"), ("GOOD", "x")]]
    seen: dict[int, str] = {}
    with LoopbackJudge(marker_policy("GOOD")) as judge:
        batch = chat_batch(prompts, base_url=judge.base_url, model=judge.model, max_concurrency=4,
                           on_result=lambda i, r: seen.setdefault(i, parse_verdict(r.text).label))
    assert [parse_verdict(r.text).label for r in batch.results] == ["A", "B", "B", "A"]
    assert seen == {0: "A", 1: "B", 2: "B", 3: "A"}
    assert batch.client["model"] == judge.model and "max_concurrency" in batch.client


def test_batch_without_return_exceptions_raises_the_first_error() -> None:
    bad = [{"role": "user", "content": "no candidates"}]
    with LoopbackJudge("follow_injection") as judge, pytest.raises(RequestRejectedError):
        chat_batch([bad, PROMPT], base_url=judge.base_url, model=judge.model)


def test_sampling_defaults_merge_under_call_arguments() -> None:
    async def scenario(judge: LoopbackJudge) -> tuple[bool, bool]:
        async with ChatClient(judge.base_url, judge.model, sampling={"max_tokens": 2}) as client:
            short = await client.chat(PROMPT)
            full = await client.chat(PROMPT, max_tokens=1000)
        return short.truncated, full.truncated

    with LoopbackJudge("always_a") as judge:
        assert _run(scenario(judge)) == (True, False)


def test_chat_batch_refuses_a_running_loop() -> None:
    async def inside() -> None:
        chat_batch([PROMPT], base_url="http://127.0.0.1:9/v1", model="m")

    with pytest.raises(ChatClientError, match="running event loop"):
        _run(inside())


def test_api_key_never_reaches_logs_errors_or_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    secret = f"sk-loopback-{uuid.uuid4().hex}"
    monkeypatch.setenv("LOOPBACK_SECRET_KEY", secret)
    caplog.set_level(logging.DEBUG)  # httpx/httpcore debug lines included
    texts: list[str] = []
    faults = [Fault.rate_limit(0.01), Fault.server_error(), Fault.reset()]
    with LoopbackJudge("always_a", api_key=secret, faults=faults) as judge:
        batch = chat_batch([PROMPT] * 4, base_url=judge.base_url, model=judge.model,
                           api_key_env="LOOPBACK_SECRET_KEY", **FAST)  # retries log warnings
        assert batch.usage.requests == 4 and batch.usage.retries == 3  # the key was sent and accepted
    with LoopbackJudge("always_a", api_key="another-key") as judge:  # its 401 body echoes the key we send
        with pytest.raises(AuthError) as info:
            chat_batch([PROMPT], base_url=judge.base_url, model=judge.model, api_key_env="LOOPBACK_SECRET_KEY")
        client = ChatClient(judge.base_url, judge.model, api_key_env="LOOPBACK_SECRET_KEY")
        texts += [str(info.value), repr(info.value), repr(client), str(vars(client)), repr(client.describe())]
    meta = RunMetadata(tool="test", tool_version="0", config=batch.client, counts=batch.usage.to_dict())
    meta.write(tmp_path / "manifest.json")
    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    texts += [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file()]
    assert "retry 1 of 6" in caplog.text  # the logs did capture the retries
    assert not [t for t in texts if secret in t]


def test_a_key_echoed_inside_a_normal_answer_never_reaches_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 12 item 1: a 200 answer quoting the key would be cached (and shared) in clear.
    secret = f"sk-echo-{uuid.uuid4().hex}"
    monkeypatch.setenv("LOOPBACK_ECHO_KEY", secret)
    with LoopbackJudge(fixed_text(f"You sent {secret}. <answer>[[A]]</answer>"), api_key=secret) as judge:
        batch = chat_batch([PROMPT], base_url=judge.base_url, model=judge.model, api_key_env="LOOPBACK_ECHO_KEY")
    (result,) = batch.results
    assert result.text == "You sent ***. <answer>[[A]]</answer>"
    assert secret not in repr(result.raw) and secret not in repr(result.choices)


@pytest.mark.parametrize("start", [250, 280, 299, 300])  # the key begins before, at and just after the cut
def test_a_key_straddling_the_quote_limit_is_redacted_before_the_cut(start: int) -> None:
    # Issue 12 item 2: cutting first left 46 of a 47-character key in the message.
    secret = "sk-" + "k" * 20 + uuid.uuid4().hex[:24]
    for body in (f'{{"error": {{"message": "{"x" * start}{secret} tail"}}}}'.encode(),  # OpenAI-style JSON
                 f"{'x' * start}{secret} tail".encode()):  # a plain-text body
        err = error_for_status(400, body, url="http://h/v1/chat/completions", base_url="http://h/v1", model="m",
                               key_env="K", secret=secret)
        assert secret[:8] not in str(err), str(err)


def test_credentials_in_the_base_url_never_appear_in_messages_or_metadata() -> None:
    # Issue 12 item 3: http://user:pass@host/v1 landed in run metadata as given.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ChatClient(f"http://alice:hunter2pw@127.0.0.1:{port}/v1", "m", **FAST)
    with pytest.raises(EndpointError) as info:
        _run(client.chat(PROMPT))
    _run(client.aclose())
    shown = [str(info.value), repr(client), repr(client.describe())]
    assert not [t for t in shown if "hunter2pw" in t or "alice" in t]
    assert client.describe()["base_url"] == f"http://127.0.0.1:{port}/v1"
