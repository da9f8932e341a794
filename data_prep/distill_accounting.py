"""Token and cost accounting for distillation, and the spend cap.

Costs come from user-given prices (USD per million prompt / completion tokens, as providers quote
them) applied to the tokens each response's ``usage`` reports; a response without ``usage`` is
counted in ``missing_usage`` and costs nothing here, so the manifest says how much is unpriced.

Two views: ``total`` covers every response the output is built from (cached ones included: what the
data cost), ``this_run`` only the requests sent now. The spend cap (``--max-cost``) applies to the
total, so a rerun with the same cap does not spend it again: raise the cap to continue.

>>> from infra.chat_types import Prices
>>> spend = Accounting(Prices(2.0, 8.0), max_cost=1.0)
>>> spend.add("pass1", 100_000, 50_000, cached=False)
>>> round(spend.total_cost, 6), spend.over_cap()
(0.6, False)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from infra.chat_types import Prices


@dataclass
class Tokens:
    """Requests and tokens of one pass (or of everything)."""

    responses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    missing_usage: int = 0

    def add(self, prompt: int | None, completion: int | None) -> None:
        self.responses += 1
        if prompt is None or completion is None:
            self.missing_usage += 1
            return
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

    def add(self, purpose: str, prompt: int | None, completion: int | None, *, cached: bool) -> None:
        """Count one response of pass ``purpose`` (``cached``: read from the cache, not paid now)."""
        self.total[purpose].add(prompt, completion)
        if cached:
            self.cache_hits[purpose] += 1
        else:
            self.this_run[purpose].add(prompt, completion)

    @property
    def total_cost(self) -> float:
        return sum(t.cost(self.prices) or 0.0 for t in self.total.values())

    @property
    def run_cost(self) -> float:
        return sum(t.cost(self.prices) or 0.0 for t in self.this_run.values())

    def over_cap(self) -> bool:
        """True once the total cost has reached ``max_cost`` (never without a cap)."""
        return self.max_cost is not None and self.total_cost >= self.max_cost

    def summary(self) -> dict[str, Any]:
        """What the manifest's ``counts.tokens`` records (reproducible: cached and new alike)."""
        every = Tokens()
        for tokens in self.total.values():
            every.responses += tokens.responses
            every.prompt_tokens += tokens.prompt_tokens
            every.completion_tokens += tokens.completion_tokens
            every.missing_usage += tokens.missing_usage
        return {"per_pass": {p: t.to_dict(self.prices) for p, t in sorted(self.total.items())},
                "all": every.to_dict(self.prices)}

    def run_summary(self) -> dict[str, Any]:
        """This run's new requests, cache hits and spend (volatile: a rerun differs)."""
        return {"new": {p: t.to_dict(self.prices) for p, t in sorted(self.this_run.items())},
                "cache_hits": dict(sorted(self.cache_hits.items())),
                "cost_usd": round(self.run_cost, 6) if self.prices else None}


def cost_per_1k(prices: Prices, prompt_tokens: float, completion_tokens: float) -> float:
    """USD for 1,000 traces averaging ``prompt_tokens`` in and ``completion_tokens`` out each."""
    per_trace = prompt_tokens * prices.prompt_per_mtok + completion_tokens * prices.completion_per_mtok
    return 1000 * per_trace / 1_000_000
