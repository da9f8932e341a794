"""The resumable runner: render judge requests, skip what the cache holds, generate the rest, cache each result.

Benchmark-agnostic: a :class:`Judgment` is one judge request; every benchmark, the robustness probes,
ranking and pointwise judging share everything here. Identical requests are generated once (by cache key).

Over-long requests: when the backend can count prompt tokens and knows its context length, a request
whose prompt plus ``max_new_tokens`` does not fit is never sent: it is skipped and counted (raise the
context with ``--max-model-len``). Nothing is ever truncated.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from data_prep.pairs import Message
from data_prep.prompts import PromptTemplate, TemplateError, render_judge_prompt
from eval.backends.base import Backend, Generation, Request, Sampling
from eval.cache import CachedGeneration, GenerationCache, RequestKeyer
from eval.comparison import Comparison
from eval.errors import EvalError

SKIP_OVERLONG = "skipped_overlong"
SKIP_REJECTED = "rejected"
SKIP_TOO_LONG = "answer_too_long"
# No tokenizer spends more than a few characters per token on text; an answer far beyond its budget
# (a broken or hostile server sending megabytes) is a failure, never a cache line every rerun must read.
CHARS_PER_TOKEN_LIMIT = 64
MIN_ANSWER_LIMIT = 1 << 20


def answer_limit(sampling: Sampling) -> int:
    """The most characters an answer within ``max_new_tokens`` can hold; longer ones are failures, not cached."""
    return max(MIN_ANSWER_LIMIT, CHARS_PER_TOKEN_LIMIT * sampling.max_new_tokens)


@dataclass(frozen=True, slots=True)
class Judgment:
    """One judge request: ``tag`` is the better answer's position; ``item_id`` is the comparison's id."""

    item_id: str
    tag: str
    key: str
    messages: list[Message]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one unique request produced: a raw text, or why there is none (``skipped``)."""

    text: str | None
    finish_reason: str | None = None
    skipped: str | None = None
    detail: str | None = None


@dataclass
class RunStats:
    """Counts for the report; ``backend_calls`` is what this process asked the backend for."""

    judgments: int = 0
    unique_requests: int = 0
    cache_hits: int = 0
    generated: int = 0
    skipped_overlong: int = 0
    rejected: int = 0
    too_long: int = 0
    backend_calls: int = 0
    generation_seconds: float = 0.0
    cache_bad_lines: int = 0
    cache_torn_tail: bool = False
    longest_prompt_tokens: int | None = None
    notes: list[str] = field(default_factory=list)


def comparison_judgments(
    comparisons: Iterable[Comparison],
    orders: Mapping[str, Sequence[str]],
    template: PromptTemplate,
    model_id: str,
    sampling: Sampling,
    request_options: Mapping[str, Any] | None = None,
) -> list[Judgment]:
    """One judgment per (comparison, position of its better answer), rendered and keyed for the cache.

    ``orders`` maps each comparison id to the positions ('A', 'B') its better answer is shown in.
    """
    keyer = RequestKeyer(template.version, model_id, sampling.cache_fields(), request_options)
    out = []
    for comparison in comparisons:
        for position in orders[comparison.comparison_id]:
            shown_a, shown_b = comparison.shown(position)
            try:
                messages = render_judge_prompt(template, comparison.conversation, shown_a, shown_b)
            except TemplateError as err:
                raise EvalError(f"comparison {comparison.comparison_id!r}: {err}") from err
            key = keyer.key(messages, sample=comparison.sample)
            out.append(Judgment(comparison.comparison_id, position, key, messages))
    return out


def run_judgments(
    judgments: Sequence[Judgment],
    backend: Backend,
    cache: GenerationCache,
    sampling: Sampling,
    *,
    prompt_version: str,
    progress: bool = True,
    benchmark: str | None = None,
) -> tuple[dict[str, Outcome], RunStats]:
    """Outcomes for every unique key in ``judgments``: cached, newly generated, skipped or rejected."""
    stats = RunStats(judgments=len(judgments), cache_bad_lines=cache.bad_lines, cache_torn_tail=cache.torn_tail)
    unique: dict[str, Judgment] = {}
    for judgment in judgments:
        unique.setdefault(judgment.key, judgment)
    stats.unique_requests = len(unique)
    outcomes = {key: Outcome(hit.text, hit.finish_reason) for key in unique if (hit := cache.get(key)) is not None}
    stats.cache_hits = len(outcomes)
    to_send = _screen_lengths([j for key, j in unique.items() if key not in outcomes], backend, sampling, outcomes,
                              stats)
    if to_send:
        context = {"model_id": backend.model_id, "prompt_version": prompt_version,
                   **({} if benchmark is None else {"benchmark": benchmark})}
        _generate(to_send, backend, cache, sampling, outcomes, stats, context, progress)
    stats.notes += [note for count, note in (
        (stats.skipped_overlong, f"{stats.skipped_overlong} requests did not fit the context and were skipped "
                                 "(scored as failures); raise --max-model-len to judge them"),
        (stats.rejected, f"the server rejected {stats.rejected} requests (scored as failures); each item's reason "
                         "is in items.jsonl"),
        (stats.too_long, f"{stats.too_long} answers were longer than {answer_limit(sampling):,} characters, more "
                         "than the generation budget can hold (scored as failures, not cached)"),
        (stats.cache_bad_lines, f"{stats.cache_bad_lines} cache lines were unreadable or had fields of the wrong "
                                "type; they were ignored and their requests generated again")) if count]
    return outcomes, stats


def _screen_lengths(pending: list[Judgment], backend: Backend, sampling: Sampling,
                    outcomes: dict[str, Outcome], stats: RunStats) -> list[Judgment]:
    limit = backend.context_limit() if pending else None
    if limit is None:
        return pending
    keep = []
    for judgment in pending:
        tokens = backend.prompt_tokens(judgment.messages)
        if tokens is None:
            keep.append(judgment)
            continue
        stats.longest_prompt_tokens = max(stats.longest_prompt_tokens or 0, tokens)
        if tokens + sampling.max_new_tokens > limit:
            detail = f"{tokens} prompt + {sampling.max_new_tokens} new tokens > context {limit}"
            outcomes[judgment.key] = Outcome(None, skipped=SKIP_OVERLONG, detail=detail)
            stats.skipped_overlong += 1
        else:
            keep.append(judgment)
    return keep


def _generate(to_send: list[Judgment], backend: Backend, cache: GenerationCache, sampling: Sampling,
              outcomes: dict[str, Outcome], stats: RunStats, context: Mapping[str, str], progress: bool) -> None:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(to_send), desc="judging", unit="judgment", file=sys.stderr, dynamic_ncols=True,
                   postfix=f"{stats.cache_hits} cached")
    limit = answer_limit(sampling)

    def on_result(index: int, generation: Generation) -> None:
        judgment = to_send[index]
        stats.backend_calls += 1
        if generation.error is not None:
            outcomes[judgment.key] = Outcome(None, skipped=SKIP_REJECTED, detail=generation.error)
            stats.rejected += 1
        elif len(generation.text) > limit:
            detail = f"an answer of {len(generation.text):,} characters (limit {limit:,})"
            outcomes[judgment.key] = Outcome(None, skipped=SKIP_TOO_LONG, detail=detail)
            stats.too_long += 1
        else:
            record = CachedGeneration(judgment.key, generation.text, generation.finish_reason,
                                      generation.prompt_tokens, generation.completion_tokens)
            cache.append(record, {"item_id": judgment.item_id, "tag": judgment.tag, **context})
            outcomes[judgment.key] = Outcome(generation.text, generation.finish_reason)
            stats.generated += 1
        if bar is not None:
            bar.update(1)

    started = time.perf_counter()
    try:
        backend.generate([Request(j.messages, j.key) for j in to_send], sampling, on_result)
    finally:
        stats.generation_seconds = time.perf_counter() - started
        if bar is not None:
            bar.close()
