"""Which teacher traces become SFT targets: one filter for teacher passes and the released SFT set.

A trace is kept only if, in this order (the first failure is its reason):

1. it was not cut off (``finish_reason`` is not ``length``)                        -> ``truncated``
2. :func:`reward_fns.parse_verdict` reads a STRICT verdict                          -> ``no_verdict``
3. that verdict names the ground truth                                              -> ``wrong_verdict``
4. its structure is complete for the prompt variant                                 -> ``incomplete_structure``
   * ``instruct``: the Chain-of-Rubrics of :func:`data_prep.cor_parser.parse_cor` (type; rubric with
     weights and justify, or solution; eval with quote/summary evidence; answer, in order);
   * ``reasoning``: a closed, non-empty ``<think>`` block before the verdict (the R1-style prompt asks
     for thinking, then the verdict; it asks for no rubric);
5. (corrected traces and the released set) it does not reveal it was told the answer -> ``leak``

The too-long check needs a tokenizer and happens when rows are written (``too_long``).

>>> from testkit.judge_texts import Evidence, compose_cor
>>> trace = compose_cor("Reasoning", "A", solution="4", evidence=Evidence("4", "right", "5", "wrong"))
>>> check_trace(trace, "A", "instruct").kept, check_trace(trace, "B", "instruct").reason
(True, 'wrong_verdict')
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from data_prep.cor_parser import Problem, parse_cor
from reward_fns import parse_verdict

FILTER_VERSION = "trace-filter-v1"
REASONS: tuple[str, ...] = (
    "request_failed", "truncated", "no_verdict", "wrong_verdict", "incomplete_structure", "leak", "too_long",
)
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
LEAK_PHRASES_VERSION = "leak-v1"
LEAK_PHRASES: tuple[str, ...] = (
    "the correct verdict is",
    "the correct verdict was",
    "the correct answer is [[",
    "the right verdict is",
    "the expected verdict",
    "the provided verdict",
    "the given verdict",
    "the reference verdict",
    "as instructed",
    "as you instructed",
    "as you said",
    "as you mentioned",
    "as you pointed out",
    "you told me",
    "i was told",
    "i've been told",
    "i have been told",
    "i was informed",
    "i've been informed",
    "i was given the answer",
    "my previous judgment",
    "my previous judgement",
    "my earlier judgment",
    "my earlier judgement",
    "my previous evaluation",
    "my previous answer",
    "my initial judgment",
    "my initial judgement",
    "revised judgment",
    "revised judgement",
    "corrected judgment",
    "corrected judgement",
    "i apologize",
    "i apologise",
    "apologies for",
    "i was wrong",
    "i made a mistake",
    "upon reconsideration",
    "on reconsideration",
    "on second thought",
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TraceCheck:
    """The outcome for one trace: kept, or the reason (one of :data:`REASONS`) and a detail."""

    reason: str | None = None
    detail: str | None = None  # the verdict failure, the first structure problem, or the leaked phrase
    label: str | None = None  # the strict verdict, when one was read

    @property
    def kept(self) -> bool:
        return self.reason is None


def assemble_trace(content: str, reasoning: str | None, variant: str) -> str:
    """The assistant text to train on, with a reasoning model's thinking kept in its ``<think>`` block.

    Servers hand thinking back in three shapes: a separate ``reasoning_content`` field (vLLM's reasoning
    parser), inline ``<think>...</think>`` in the content, or only ``...</think>`` because the chat
    template opened the block in the prompt. All three become ``<think>\\n...\\n</think>\\n\\n<verdict
    part>``, the shape R1-style chat templates and verl's rollouts use. Instruct traces pass unchanged.
    """
    if variant != "reasoning":
        return content
    if reasoning and reasoning.strip():
        return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{content.lstrip()}"
    if THINK_CLOSE in content and THINK_OPEN not in content.split(THINK_CLOSE, 1)[0]:
        return f"{THINK_OPEN}\n{content.lstrip()}"
    return content


def check_trace(
    trace: str, ground_truth: str | None, variant: str, *, finish_reason: str | None = None, check_leak: bool = False
) -> TraceCheck:
    """Apply the filter above to one assembled trace (``ground_truth`` None: a set without labels, step 3 skipped)."""
    if finish_reason == "length":
        return TraceCheck("truncated", "finish_reason=length")
    verdict = parse_verdict(trace, "strict")
    if not verdict.ok:
        return TraceCheck("no_verdict", verdict.failure.value if verdict.failure else "missing")
    if ground_truth is not None and verdict.label != ground_truth:
        return TraceCheck("wrong_verdict", f"{verdict.label} for {ground_truth}", verdict.label)
    problem = structure_problem(trace, variant)
    if problem is not None:
        return TraceCheck("incomplete_structure", problem, verdict.label)
    if check_leak and (phrase := find_leak(trace)) is not None:
        return TraceCheck("leak", phrase, verdict.label)
    return TraceCheck(None, None, verdict.label)


def structure_problem(trace: str, variant: str) -> str | None:
    """The first structure problem of a trace for ``variant`` (None when complete)."""
    if variant == "reasoning":
        head, found, _ = trace.rpartition(THINK_CLOSE)
        opened = head.find(THINK_OPEN)
        if not found or opened < 0 or not head[opened + len(THINK_OPEN):].strip():
            return "missing_thinking"
        return None
    problems = [p for p in parse_cor(trace, "strict").problems if p is not Problem.BAD_VERDICT]
    return problems[0].value if problems else None


def phrases_sha256() -> str:
    """Hash of the phrase list, recorded in the manifest beside the version."""
    return hashlib.sha256("\n".join(LEAK_PHRASES).encode("utf-8")).hexdigest()


def find_leak(text: str) -> str | None:
    """The first phrase of :data:`LEAK_PHRASES` that ``text`` contains, else None.

    Pass 2 shows the teacher its wrong judgment and the correct verdict; a trace that then says "as
    instructed" teaches the student to expect a hint it will never get. Matched case-insensitively, runs of
    whitespace read as one space, against the whole trace (thinking included). Changing the list changes which
    traces survive: bump :data:`LEAK_PHRASES_VERSION` with it (a test pins the pair).

    >>> find_leak("Weighing both replies, and as I was told, B wins."), find_leak("Chatbot B's proof is correct.")
    ('i was told', None)
    """
    folded = _SPACE.sub(" ", text.lower().replace("\u2019", "'"))  # a typographic apostrophe reads as '
    for phrase in LEAK_PHRASES:
        if phrase in folded:
            return phrase
    return None
