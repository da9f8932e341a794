"""The verdict contract: how a judge states its verdict and how we find it.

This module is the ONE home of the verdict format. Data prep renders the format instruction from
:func:`format_verdict`, the RL reward parses rollouts with :func:`parse_verdict`, and every benchmark
scorer parses with the same function, so training and evaluation cannot drift apart.

Strict mode (what training rewards)
-----------------------------------
* The verdict is ``<answer>[[A]]</answer>`` or ``<answer>[[B]]</answer>`` and it is the LAST thing in
  the response: only whitespace may follow.
* It must come after the reasoning block. The reasoning block ends at the last ``</think>``; the
  opening ``<think>`` may be absent (R1-style chat templates put it in the prompt). A response that
  opens ``<think>`` and never closes it has no answer region at all.
* Whitespace (spaces, newlines) is allowed between the tags and the brackets; nothing else is
  tolerated: tag names are lowercase, the label is an uppercase ``A``/``B`` with no spaces inside
  ``[[...]]``.
* Exactly one verdict may appear after the reasoning block. A second one, repeated or competing,
  quoted inside evidence or not, fails: a policy must not be able to hedge.
* Lookalike characters (fullwidth or CJK brackets, Cyrillic/Greek/fullwidth letters) fail.

Lenient mode (reported beside strict in evaluation, never rewarded)
-------------------------------------------------------------------
Takes the last verdict mark after the reasoning block in any of these forms: ``[[A]]`` with or
without ``<answer>`` tags, any case, spaces inside the brackets, text after it allowed, repeats of the
same label allowed. It still fails on: no verdict, two different labels, lookalike characters, a
verdict only inside the reasoning block, and truncation.

What counts as a verdict (for "competing"): a double-bracketed single letter that reads as A or B,
including lookalikes and lowercase. Other double-bracket content (``[[1, 2]]`` in code) is ignored, and
an ``<answer>`` tag with no such mark is malformed rather than a second verdict.

The reasoning block is found from the LAST ``think>`` tag: a closing one starts the answer region, an
opening one (a block reopened and never closed) means there is no answer region.

Speed: a clean response costs one multi-character scan (``rfind("hink>")``), one ``memrchr`` for
``[`` and a regex over the last 160 characters, so the common case runs at C speed. Regular
expressions elsewhere run only at candidate positions, so cost stays linear in length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from typing import Literal, NamedTuple

VERDICT_FORMAT_VERSION = "verdict-v1"
LABELS: tuple[str, str] = ("A", "B")
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
Mode = Literal["strict", "lenient"]
MODES: tuple[str, str] = ("strict", "lenient")


class Failure(str, Enum):
    """Why no verdict could be read. The value is what reports and metrics show."""

    MISSING = "missing"  # no verdict anywhere
    COMPETING = "competing"  # more than one verdict after the reasoning block (strict), or two labels
    NOT_AT_END = "not_at_end"  # a verdict followed by more text (strict)
    MALFORMED = "malformed"  # a verdict-like mark in the wrong shape (case, spacing, tags, label)
    LOOKALIKE = "lookalike"  # a verdict written with lookalike characters
    INSIDE_THINKING = "inside_thinking"  # a verdict only inside the reasoning block
    TRUNCATED = "truncated"  # output stops mid-verdict, or the reasoning block never closes


@dataclass(frozen=True, slots=True)
class ParsedVerdict:
    """The outcome of parsing one response: exactly one of ``label`` and ``failure`` is set."""

    label: str | None
    failure: Failure | None

    @property
    def ok(self) -> bool:
        return self.label is not None


_OK = {label: ParsedVerdict(label, None) for label in LABELS}  # immutable, so the hot path reuses them


def format_verdict(label: str) -> str:
    """Render the verdict for ``label``.

    >>> format_verdict("A")
    '<answer>[[A]]</answer>'
    """
    if label not in LABELS:
        raise ValueError(f"verdict label {label!r} is not one of {LABELS}; pass 'A' or 'B'.")
    return f"{ANSWER_OPEN}[[{label}]]{ANSWER_CLOSE}"


# Lookalike characters mapped to what they imitate. Only brackets and the two labels matter.
_LOOKALIKE_OPEN = "［【〚⟦〔"
_LOOKALIKE_CLOSE = "］】〛⟧〕"
_CONFUSABLES = str.maketrans(
    {
        **{c: "[" for c in _LOOKALIKE_OPEN},
        **{c: "]" for c in _LOOKALIKE_CLOSE},
        "А": "A",
        "В": "B",
        "а": "a",
        "в": "b",  # Cyrillic
        "Α": "A",
        "Β": "B",  # Greek
        "Ａ": "A",
        "Ｂ": "B",
        "ａ": "a",
        "ｂ": "b",  # fullwidth
        "＜": "<",
        "＞": ">",
        "／": "/",
    }
)
# Bounded quantifiers keep every match O(1): no backtracking blow-up on adversarial input.
_MARK = re.compile(r"\[\[[ \t]{0,4}(\S)[ \t]{0,4}\]\]")
_BRACKET_RUN = re.compile(r"\[+")
_LOOKALIKE_MARK = re.compile(r"([\[［【〚⟦〔]{1,2})[ \t]{0,4}(\S)[ \t]{0,4}([\]］】〛⟧〕]{1,2})")
_STRICT_TAIL = re.compile(r"<answer>\s{0,64}\[\[([AB])\]\]\s{0,64}</answer>")
_CLOSE_TAG_LIKE = re.compile(r"\]{0,2}\s{0,64}<\s{0,4}/\s{0,4}answer\s{0,4}>\s*", re.IGNORECASE)
_TAIL_WINDOW = 160  # longer than any strict verdict with its allowed whitespace


class _Mark(NamedTuple):  # a tuple: cheap to create by the hundred thousand on adversarial input
    start: int
    end: int
    label: str  # "A"/"B" after folding case and lookalikes
    exact: bool  # written as [[A]] / [[B]] in plain ASCII


def parse_verdict(text: str, mode: Mode = "strict") -> ParsedVerdict:
    """Read the judge's verdict from a response.

    >>> parse_verdict("<think>B is wrong.</think> <answer>[[A]]</answer>").label
    'A'
    >>> parse_verdict("<answer>[[A]]</answer> on reflection B").failure.value
    'not_at_end'
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_verdict expects str, got {type(text).__name__}")
    if mode not in MODES:
        raise ValueError(f"verdict parse mode {mode!r} is not one of {MODES}.")
    start = _answer_region_start(text)
    if start < 0:  # the reasoning block never closes
        return _fail(Failure.INSIDE_THINKING if _has_mark(text, 0, len(text)) else Failure.TRUNCATED)
    end = _content_end(text)
    if mode == "strict":
        fast = _strict_fast_path(text, start, end)
        if fast is not None:
            return fast
        return _strict_failure(text, start, end)
    return _lenient(text, start, end)


def _content_end(text: str) -> int:
    """len(text.rstrip()) without copying the whole text (rstrip copies when it strips anything)."""
    tail = text[-256:]
    kept = tail.rstrip()
    return len(text) - len(tail) + len(kept) if kept else len(text.rstrip())


def _answer_region_start(text: str) -> int:
    """Index where the answer region begins, or -1 if the last reasoning tag opens a block."""
    # One backward scan finds both <think> and </think>. "hink>" rather than "think>": CPython's rfind
    # tests the needle's first character at every position, and "h" is rarer in English than "t".
    j = text.rfind("hink>")
    while j >= 0:
        if text.startswith(THINK_CLOSE, j - 3):
            return j + len("hink>")
        if text.startswith(THINK_OPEN, j - 2):
            return -1
        j = text.rfind("hink>", 0, j)  # "rethink>" or similar: keep looking
    return 0


def _strict_fast_path(text: str, start: int, end: int) -> ParsedVerdict | None:
    """Accept a clean response using only C-speed scans; None means 'look closer'."""
    m = _STRICT_TAIL.search(text, max(start, end - _TAIL_WINDOW), end)
    if m is None or m.end() != end:
        return None
    if text.rfind("[", start, m.start(1) - 2) >= 0:  # memrchr: any other bracket means look closer
        return None
    if not text.isascii() and _has_lookalike_bracket(text, start, end):
        return None
    return _OK[m.group(1)]


def _has_lookalike_bracket(text: str, start: int, end: int) -> bool:
    return any(text.find(c, start, end) >= 0 for c in _LOOKALIKE_OPEN)


def _has_mark(text: str, start: int, end: int) -> bool:
    """True if text[start:end] holds any verdict mark; stops at the first one."""
    return next(_iter_marks(text, start, end), None) is not None


def _iter_marks(text: str, start: int, end: int) -> Iterator[_Mark]:
    """Every double-bracketed A/B (any case, any lookalike) in text[start:end]: ASCII ones first.

    A generator, so callers that need one or two marks stop early and huge inputs build no lists."""
    i = text.find("[[", start, end)
    while i >= 0:
        run_end = _BRACKET_RUN.match(text, i, end).end()  # type: ignore[union-attr]  # text[i] is "["
        i = run_end - 2  # in a run of "[", only the last "[[" can open a mark: one regex per run
        m = _MARK.match(text, i, end)
        if m:
            label = m.group(1).translate(_CONFUSABLES).upper()
            if label in LABELS:
                yield _Mark(i, m.end(), label, m.group(1) in LABELS)
        i = text.find("[[", run_end, end)
    if text.isascii() or not _has_lookalike_bracket(text, start, end):
        return
    for m in _LOOKALIKE_MARK.finditer(text, start, end):
        if (m.group(1) + m.group(3)).isascii():  # plain [A] is everyday text; ASCII [[A]] was yielded above
            continue
        label = m.group(2).translate(_CONFUSABLES).upper()
        if label in LABELS:
            yield _Mark(m.start(), m.end(), label, False)


def _ends_mid_verdict(text: str, end: int) -> bool:
    """True if the text stops partway through a verdict (e.g. '<answer>[[A]]</ans')."""
    tail = text[max(0, end - _TAIL_WINDOW) : end]
    for label in LABELS:
        full = format_verdict(label)
        if any(tail.endswith(full[:k]) for k in range(3, len(full))):
            return True
    return False


def _strict_failure(text: str, start: int, end: int) -> ParsedVerdict:
    marks = list(islice(_iter_marks(text, start, end), 2))
    if not marks:
        return _fail(_no_mark_reason(text, start, end))
    if len(marks) > 1:
        return _fail(Failure.COMPETING)
    last = marks[0]
    rest = text[last.end : end]
    if rest.strip() and not _CLOSE_TAG_LIKE.fullmatch(rest.translate(_CONFUSABLES)):
        return _fail(Failure.TRUNCATED if _ends_mid_verdict(text, end) else Failure.NOT_AT_END)
    span = text[max(start, last.start - 24) : end]  # the opening tag, the mark and the closing tag
    if span.translate(_CONFUSABLES) != span:
        return _fail(Failure.LOOKALIKE)
    tail = _STRICT_TAIL.search(text, max(start, end - _TAIL_WINDOW), end)
    if last.exact and tail is not None and tail.end() == end and tail.start() <= last.start:
        return ParsedVerdict(last.label, None)  # clean verdict; the fast path balked at other "[[" text
    return _fail(Failure.MALFORMED)


def _lenient(text: str, start: int, end: int) -> ParsedVerdict:
    last: _Mark | None = None
    labels: set[str] = set()
    for mark in _iter_marks(text, start, end):
        labels.add(mark.label)
        if len(labels) > 1:
            return _fail(Failure.COMPETING)
        if last is None or mark.start > last.start:
            last = mark
    if last is None:
        return _fail(_no_mark_reason(text, start, end))
    if text[last.start : last.end].translate(_CONFUSABLES) != text[last.start : last.end]:
        return _fail(Failure.LOOKALIKE)
    return ParsedVerdict(last.label, None)


def _no_mark_reason(text: str, start: int, end: int) -> Failure:
    """Why a response whose answer region holds no verdict mark failed."""
    if _ends_mid_verdict(text, end):
        return Failure.TRUNCATED
    if _has_mark(text, 0, start):
        return Failure.INSIDE_THINKING
    return Failure.MALFORMED if text.find("<answer", start, end) >= 0 else Failure.MISSING


def _fail(reason: Failure) -> ParsedVerdict:
    return ParsedVerdict(None, reason)
