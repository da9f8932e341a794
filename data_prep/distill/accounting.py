"""Token and cost accounting for distillation, and the spend cap that holds.

Costs come from user-given prices (USD per million prompt / completion tokens, as providers quote
them) applied to the tokens each response's ``usage`` reports. A response without ``usage`` is costed
from local counts (:func:`token_bound`: an upper bound) and counted in ``missing_usage``, so the run
and the manifest say how much of the spend is estimated.

Two views: ``total`` covers every response the output is built from (cached ones included: what the
data cost), ``this_run`` only the requests sent now. The spend cap (``--max-cost``) applies to the
total, so a rerun with the same cap does not spend it again: raise the cap to continue.

The cap is hard: before a request is sent, :meth:`Accounting.reserve` sets aside its worst case
(the prompt's token bound plus ``max_tokens``, at the given prices) and refuses it when the spend so far
plus every reservation in flight would pass the cap, whatever the concurrency.

>>> from infra.chat_types import Prices
>>> spend = Accounting(Prices(2.0, 8.0), max_cost=1.0)
>>> spend.add("pass1", 100_000, 50_000, cached=False)
>>> round(spend.total_cost, 6)
0.6
>>> held = spend.reserve([{"role": "user", "content": "hi"}], max_tokens=100_000)  # up to 0.8 USD: refused
>>> held is None
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field
from typing import Any

from infra.chat_types import Prices

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
    """Tokens per pass, for all responses used and for this run's new requests."""

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
