"""The trained judge as the reward for policy RL: the policy's answer against the row's reference, both orders.

verl 0.9.1 loads this with ``reward.custom_reward_function.path=pkg://reward_fns.judge_reward`` (name
``compute_score``) and awaits it once per rollout. The judge is reached through
``reward_router_address`` (verl-launched judge servers, ``reward.reward_model.enable=True``: verl passes
the address) or through ``judge_url`` (any OpenAI-compatible server). Per rollout:

1. the policy's thinking is stripped (text up to the last ``</think>``; an unclosed ``<think>`` leaves no
   answer) and the answer and the reference are capped to ``max_answer_tokens`` (the judge tokenizer's
   tokens when verl passes it, else 4 characters a token);
2. both texts are neutralised with the prompt module's rules (:mod:`data_prep.neutralise`) and the
   template's candidate delimiters are broken the same way, so an answer can write neither a verdict,
   a judge tag nor the end of its own candidate block;
3. the judge sees the pair twice, the policy as Chatbot A and as Chatbot B (both requests at once);
   each order gives 1 for a policy win, 0 for a loss, and 0.5 when the verdict does not parse or the
   request fails or times out (neutral, and counted);
4. ``score = low + (high - low) * wins / 2``.

Every call returns the same keys (:data:`JUDGE_KEYS`), whatever fails, and never raises for a judge
problem: verl indexes metrics by the first sample's keys and an exception kills the training step. A
missing judge address or question is a configuration or data bug and raises at once.

One HTTP client (connection pool) per worker process and event loop; raw judge answers go into a
:class:`reward_fns.judge_cache.FolderCache` when ``cache_dir`` is set, so a resumed step asks nothing
twice. The reward monitor's flags (:mod:`reward_fns.judge_monitor`) ride along as keys.

Layering: this module composes the prompt module, the neutraliser and the one chat client, which sit
above ``reward_fns`` (and the robustness library's master keys for the monitor). It imports them inside
:func:`_parts`, on the first call, so importing the
package (every Ray reward worker does) stays light; ``pyproject.toml`` names these imports as the
only exceptions to the layering.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from reward_fns.judge_cache import FolderCache, request_key
from reward_fns.judge_monitor import answer_flags
from reward_fns.verdict import THINK_CLOSE, THINK_OPEN, Mode, parse_verdict

JUDGE_KEYS: tuple[str, ...] = (
    "score", "judge_win_rate", "judge_consistent", "judge_both_parsed", "judge_calls", "judge_parse_fail",
    "judge_error", "judge_cached", "judge_picked_first", "answer_len", "reference_len", "answer_truncated",
    "monitor_verdict", "monitor_delimiter", "monitor_master_key",
)  # fmt: skip
CHARS_PER_TOKEN = 4  # the cap without a tokenizer: generous for English, so it rarely cuts early
_CLIENTS: dict[tuple[Any, ...], Any] = {}  # one chat-client task per (event loop, endpoint) in this process


def strip_thinking(text: str) -> str:
    """The answer after the policy's reasoning: after the last ``</think>``; '' if a ``<think>`` never closes.

    >>> strip_thinking("<think>hmm</think>\\n Paris.")
    'Paris.'
    """
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        return text[close + len(THINK_CLOSE) :].strip()
    return "" if THINK_OPEN in text else text.strip()


def cap_text(text: str, max_tokens: int, tokenizer: Any = None) -> tuple[str, bool]:
    """``text`` cut to ``max_tokens`` (judge tokens if a tokenizer is given) and whether it was cut."""
    if tokenizer is None:
        limit = max_tokens * CHARS_PER_TOKEN
        return (text, False) if len(text) <= limit else (text[:limit], True)
    ids = tokenizer.encode(text, add_special_tokens=False)
    return (text, False) if len(ids) <= max_tokens else (tokenizer.decode(ids[:max_tokens]), True)


def judge_base_url(reward_router_address: str | None, judge_url: str | None) -> str:
    """The judge's OpenAI-compatible base URL: ``judge_url`` if set, else verl's router ("ip:port")."""
    if judge_url:
        return judge_url.rstrip("/")
    if reward_router_address:
        return f"http://{reward_router_address}/v1"
    raise ValueError(
        "the judge reward has no judge to ask: enable verl's reward model (reward.reward_model.enable=True, "
        "which passes reward_router_address) or set reward.custom_reward_function.reward_kwargs.judge_url."
    )


def order_outcome(text: str | None, policy_label: str, mode: Mode = "strict") -> float | None:
    """1.0 if the judge picked the policy's label, 0.0 for the other label, None if no verdict parsed."""
    if text is None:
        return None
    parsed = parse_verdict(text, mode)
    return None if parsed.label is None else float(parsed.label == policy_label)


async def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    reward_router_address: str | None = None,
    reward_model_tokenizer: Any = None,
    judge_url: str | None = None,
    judge_model: str | None = None,
    api_key_env: str | None = None,
    variant: str = "instruct",
    max_answer_tokens: int = 4096,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    timeout_s: float = 600.0,
    max_retries: int = 2,
    max_concurrency: int = 64,
    low: float = -1.0,
    high: float = 1.0,
    mode: Mode = "strict",
    cache_dir: str | None = None,
    **_: Any,
) -> dict[str, float]:
    """Score one rollout with the judge: the policy's answer vs ``ground_truth`` (the reference), both orders.

    ``extra_info["question"]`` holds the policy's prompt (the user turn) that the judge is shown.
    """
    question = (extra_info or {}).get("question")
    if not isinstance(question, str):
        raise ValueError(
            f"row of {data_source!r} has no extra_info.question; build policy-RL rows with data_prep.policy_rows."
        )
    parts = _parts(variant)
    answer = strip_thinking(solution_str)
    flags = answer_flags(answer, parts.delimiters, parts.master_keys)
    shown, truncated = cap_text(answer, max_answer_tokens, reward_model_tokenizer)
    reference, _cut = cap_text(str(ground_truth), max_answer_tokens, reward_model_tokenizer)
    shown, reference = parts.safe(shown), parts.safe(reference)
    sampling = {"temperature": temperature} | ({"max_tokens": max_tokens} if max_tokens else {})
    question = parts.safe(question)  # built rows are neutralised already; the delimiters are not (idempotent)
    asks = [parts.render(question, shown, reference), parts.render(question, reference, shown)]
    endpoint = (judge_base_url(reward_router_address, judge_url), judge_model, api_key_env, timeout_s, max_retries,
                max_concurrency)
    store = _cache(cache_dir) if cache_dir else None
    answers = await asyncio.gather(*(_ask(endpoint, store, m, sampling, timeout_s) for m in asks))
    texts = [text for text, _cached in answers]
    outcomes = [order_outcome(text, label, mode) for text, label in zip(texts, ("A", "B"), strict=True)]
    wins = sum(0.5 if o is None else o for o in outcomes)
    parsed = [o for o in outcomes if o is not None]
    return {
        "score": float(low + (high - low) * wins / 2),
        "judge_win_rate": wins / 2,
        "judge_consistent": float(len(parsed) == 2 and parsed[0] == parsed[1]),
        "judge_both_parsed": float(len(parsed) == 2),
        "judge_calls": 2.0,  # judgments behind this reward (group mode sums them over opponents)
        "judge_parse_fail": float(sum(o is None and t is not None for o, t in zip(outcomes, texts, strict=True))),
        "judge_error": float(texts.count(None)),
        "judge_cached": float(sum(cached for _text, cached in answers)),
        # Position bias on the policy's own rollouts: the policy is A in order 1 (a pick of A is a win)
        # and B in order 2 (a pick of A is a loss).
        "judge_picked_first": float(sum(o == first for o, first in zip(outcomes, (1.0, 0.0), strict=True))),
        "answer_len": float(len(answer)),
        "reference_len": float(len(str(ground_truth))),
        "answer_truncated": float(truncated),
        **flags,
    }


async def _ask(endpoint: tuple[Any, ...], store: FolderCache | None, messages: list[dict[str, str]],
               sampling: Mapping[str, Any], timeout_s: float) -> tuple[str | None, bool]:
    """The judge's raw answer (None if it failed or timed out) and whether it came from the cache.

    A bad URL, a refused key or an unknown model raises: no retry can fix them, and a run that went on
    would train on neutral rewards only. Everything else (timeouts, exhausted retries, a judge that is
    down, a request it refuses) is one neutral judgment, counted."""
    from infra.chat_errors import AuthError, ChatClientError, ClientConfigError, UnknownModelError

    try:
        client = await _client(*endpoint)
        key = request_key(client.model, messages, sampling)
        if store is not None and (hit := store.get(key)) is not None:
            return hit, True
        result = await asyncio.wait_for(client.chat(messages, **sampling), timeout_s)
    except (ClientConfigError, AuthError, UnknownModelError):
        raise
    except (ChatClientError, asyncio.TimeoutError):
        return None, False
    if store is not None:
        store.put(key, result.text)
    return result.text, False


async def _client(base_url: str, model: str | None, api_key_env: str | None, timeout_s: float, max_retries: int,
                  max_concurrency: int) -> Any:
    """This process's client for the endpoint on the running event loop (httpx pools are loop-bound).

    The first caller makes it (one task that every concurrent caller awaits); a judge that could not be
    reached then is tried again on the next call."""
    key = (id(asyncio.get_running_loop()), base_url, model, api_key_env, timeout_s, max_retries, max_concurrency)
    task = _CLIENTS.get(key)
    if task is None:
        task = _CLIENTS[key] = asyncio.ensure_future(
            _new_client(base_url, model, api_key_env, timeout_s, max_retries, max_concurrency))
    try:
        return await task
    except Exception:
        _CLIENTS.pop(key, None)
        raise


async def _new_client(base_url: str, model: str | None, api_key_env: str | None, timeout_s: float,
                      max_retries: int, max_concurrency: int) -> Any:
    """A chat client; without a model name, the first model the server lists (verl serves the judge under
    its local path, which the recipe need not restate)."""
    from infra.chat_client import ChatClient
    from infra.chat_errors import EndpointError

    client = ChatClient(base_url, model or "served-model", api_key_env=api_key_env, timeout_s=timeout_s,
                        max_retries=max_retries, max_concurrency=max_concurrency)
    if model is None:
        listed = await client.list_models()
        served = listed[0].get("id") if listed else None
        if not isinstance(served, str):
            await client.aclose()
            raise EndpointError(f"the judge at {client.shown_url} lists no model; set reward_kwargs.judge_model.")
        client.model = served
    return client


@cache
def _cache(folder: str) -> FolderCache:
    return FolderCache(folder)


class _Parts:
    """The prompt module's pieces the reward needs, imported on first use (see the module docstring)."""

    def __init__(self, variant: str) -> None:
        from data_prep.neutralise import MARKER, neutralise
        from data_prep.prompts import CONVERSATION_MARKERS, RESPONSE_MARKERS, builtin_template, render_judge_prompt
        from data_prep.robustness.library import PARTS

        self.template = builtin_template(variant)
        # Typed loosely: the prompt module's Message type lives above reward_fns.
        self._render: Callable[..., Any] = render_judge_prompt
        self._neutralise: Callable[[str], str] = neutralise
        self.delimiters: tuple[str, ...] = tuple(
            d for markers in (RESPONSE_MARKERS, CONVERSATION_MARKERS) for pair in markers.values() for d in pair
        )
        # The neutraliser's marker right after the "[" of a delimiter: it reads the same, matches nothing.
        self._delimiter = re.compile("|".join(re.escape(d) for d in self.delimiters), re.IGNORECASE)
        self._marker = MARKER
        # Both parts of the robustness library: the monitor watches for every known master key.
        self.master_keys: tuple[str, ...] = tuple(key for part in PARTS.values() for key in part.master_keys.values())

    def safe(self, text: str) -> str:
        """``text`` with judge markup and the template's delimiters broken (idempotent)."""
        return self._delimiter.sub(lambda m: m.group(0)[0] + self._marker + m.group(0)[1:], self._neutralise(text))

    def render(self, question: str, answer_a: str, answer_b: str) -> list[dict[str, str]]:
        messages = self._render(self.template, [_msg("user", question)], [_msg("assistant", answer_a)],
                                [_msg("assistant", answer_b)])
        return [dict(m) for m in messages]


def _msg(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


@cache
def _parts(variant: str) -> _Parts:
    return _Parts(variant)


__all__ = ["JUDGE_KEYS", "cap_text", "compute_score", "judge_base_url", "order_outcome", "strip_thinking"]
