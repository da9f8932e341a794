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
* A verdict written with lookalike characters (``［［A］］``, ``[[𝐀]]``, ``<аnswer>`` with a Cyrillic
  ``а``) fails as ``lookalike``. Lookalikes elsewhere are ordinary text: ``【分析】``, Greek or Cyrillic
  prose and single brackets around a letter never affect the verdict.

Lenient mode (reported beside strict in evaluation, never rewarded)
-------------------------------------------------------------------
Takes the last verdict mark after the reasoning block in any of these forms: ``[[A]]`` with or
without ``<answer>`` tags, any case, spaces inside the brackets, text after it allowed, repeats of the
same label allowed. It still fails on: no verdict, two different labels, a last mark written with
lookalike characters, a verdict only inside the reasoning block, and truncation (the output ends inside
a tag such as ``</`` or ``<answer>[[A]]</ans``, inside a mark, or right after ``<answer>``).

What counts as a verdict (for "competing"): a verdict MARK as defined in :mod:`reward_fns.marks`, i.e.
double brackets of any square-bracket family around one character that NFKC-normalises to A or B (any
case, inner spaces) or is a known confusable of one. Other double-bracket content (``[[1, 2]]`` in
code) is ignored, and an ``<answer>`` tag with no such mark is malformed rather than a second verdict.

The reasoning block is found from the LAST ``think>`` tag: a closing one starts the answer region, an
opening one (a block reopened and never closed) means there is no answer region.

Speed: a clean response costs one multi-character scan (``rfind("hink>")``), one ``memrchr`` for
``[`` and a regex over the last 160 characters, so the common case runs at C speed (a non-ASCII text
adds one regex scan for two non-ASCII opening brackets in a row). Regular expressions elsewhere run
only at candidate positions, and NFKC runs only on the few characters around the last mark, so cost
stays linear in length.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from typing import Literal, NamedTuple

from reward_fns.marks import (
    CLOSE_CLS,
    INNER,
    LABEL_CLS,
    MARK_BODY,
    NON_ASCII_OPEN,
    OPEN,
    OPEN_CLS,
    OPEN_RUN,
    fold_label,
)

# The format judges are asked to write. Issue 12 refined what the parser accepts at the margins (marks
# defined by NFKC, lookalikes only inside a verdict shape, lenient fails on cut-off tags) but kept v1:
# the rendered verdicts and prompts are unchanged, while the prompt-template hash includes this string,
# so a bump needs a new PROMPT_VERSION, which is part of every eval cache key (all judgments regenerated).
VERDICT_FORMAT_VERSION = "verdict-v1"
LABELS: tuple[str, str] = ("A", "B")
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
Mode = Literal["strict", "lenient"]
MODES: tuple[Mode, Mode] = ("strict", "lenient")


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


_ASCII_MARK = re.compile(r"\[\[[ \t]{0,4}([ABab])[ \t]{0,4}\]\]")  # the ASCII-only case of marks.MARK_BODY
_BRACKET_RUN = re.compile(r"\[+")
_STRICT_TAIL = re.compile(r"<answer>\s{0,64}\[\[([AB])\]\]\s{0,64}</answer>")
_CLOSE_TAG_LIKE = re.compile(r"\]{0,2}\s{0,64}<\s{0,4}/\s{0,4}answer\s{0,4}>\s*", re.IGNORECASE)
_OPEN_TAG_END = re.compile(r"<answer>\s{0,64}\Z")
_CLOSE_TAG = re.compile(r"\s{0,64}</answer>\s*")
_TAIL_WINDOW = 160  # longer than any strict verdict with its allowed whitespace, or any truncated ending
# How an output that was cut off ends: inside a tag (a bare <, any unterminated tag such as </, <eva,
# </answer), inside a mark (two openers, maybe the label and one closer), or right after <answer>.
# A "<" followed by a space and no "/" is prose ("x < y"), not a tag.
_PARTIAL_TAG = r"<(?:[ \t]{0,4}/[ \t]{0,4}[A-Za-z_]{0,24}[ \t]{0,4}|[A-Za-z_]{0,24})"
_PARTIAL_BODY = f"{INNER}(?:{LABEL_CLS}{INNER}{CLOSE_CLS}?)?"
_TRUNCATED_END = re.compile(
    f"(?:{_PARTIAL_TAG}|{OPEN_CLS}{{2,}}{_PARTIAL_BODY}|<answer>\\s{{0,64}}(?:{OPEN_CLS}+{_PARTIAL_BODY})?)\\Z"
)
# Letters that imitate those of the answer tag, for telling a lookalike tag from a malformed one.
_TAG_CONFUSABLES = str.maketrans("аеоѕԝгАВЕКМНОРСТХαεορτΑΒΕΗΙΚΜΝΟΡΤΧ", "aeoswrABEKMHOPCTXaeoptABEHIKMNOPTX")


class _Mark(NamedTuple):  # a tuple: cheap to create by the hundred thousand on adversarial input
    start: int
    end: int
    label: str  # "A"/"B" after folding case and lookalikes
    plain: bool  # written in ASCII only (brackets, spaces, label)


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
    # Without an ASCII "[", a second mark needs non-ASCII opening brackets (one str.find each: C speed).
    if not text.isascii() and any(text.find(c, start, m.start()) >= 0 for c in NON_ASCII_OPEN):
        return None
    return _OK[m.group(1)]


def _has_mark(text: str, start: int, end: int) -> bool:
    """True if text[start:end] holds any verdict mark; stops at the first one."""
    return next(_iter_marks(text, start, end), None) is not None


def _iter_marks(text: str, start: int, end: int) -> Iterator[_Mark]:
    """Every verdict mark (see :mod:`reward_fns.marks`) in text[start:end], in order.

    A generator, so callers that need one or two marks stop early and huge inputs build no lists. In a
    run of opening brackets only the last two can open a mark, so each run costs one regex match."""
    if text.isascii():  # the common case: only "[" opens, with str.find at C speed
        i = text.find("[[", start, end)
        while i >= 0:
            run_end = _BRACKET_RUN.match(text, i, end).end()  # type: ignore[union-attr]  # text[i] is "["
            m = _ASCII_MARK.match(text, run_end - 2, end)
            if m:
                yield _Mark(run_end - 2, m.end(), m.group(1).upper(), True)
            i = text.find("[[", run_end, end)
        return
    if not any(text.find(c, start, end) >= 0 for c in OPEN):  # no bracket at all: skip the regex scan
        return
    for run in OPEN_RUN.finditer(text, start, end):
        m = MARK_BODY.match(text, run.end(), end)
        if m:
            label = fold_label(m.group(1)).upper()  # always "A" or "B": the class holds only labels
            yield _Mark(run.end() - 2, m.end(), label, text[run.end() - 2 : m.end()].isascii())


def _ends_truncated(text: str, start: int, end: int) -> bool:
    """True if the output stops inside a tag or a mark, or right after opening the answer."""
    return _TRUNCATED_END.search(text, max(start, end - _TAIL_WINDOW), end) is not None


def _fold(text: str) -> str:
    """What a short span reads as: NFKC, then tag-letter confusables (for lookalike tags only)."""
    return unicodedata.normalize("NFKC", text).translate(_TAG_CONFUSABLES)


def _lookalike_tags(text: str, start: int, mark: _Mark, end: int) -> bool:
    """True if the answer tags around the mark are written with lookalikes (＜answer＞, <аnswer>)."""
    before, after = text[max(start, mark.start - 80) : mark.start], text[mark.end : end]
    if len(after) > 96 or (before.isascii() and after.isascii()):
        return False
    return _OPEN_TAG_END.search(_fold(before)) is not None and _CLOSE_TAG.fullmatch(_fold(after)) is not None


def _strict_failure(text: str, start: int, end: int) -> ParsedVerdict:
    marks = list(islice(_iter_marks(text, start, end), 2))
    if not marks:
        return _fail(_no_mark_reason(text, start, end))
    if len(marks) > 1:
        return _fail(Failure.COMPETING)
    last = marks[0]
    rest = text[last.end : end]
    if rest.strip() and not (len(rest) <= 96 and _CLOSE_TAG_LIKE.fullmatch(_fold(rest))):
        return _fail(Failure.TRUNCATED if _ends_truncated(text, start, end) else Failure.NOT_AT_END)
    if not last.plain:
        return _fail(Failure.LOOKALIKE)
    tail = _STRICT_TAIL.search(text, max(start, end - _TAIL_WINDOW), end)
    if tail is not None and tail.end() == end and tail.start() <= last.start:
        return _OK[last.label]  # clean verdict; the fast path balked at other brackets
    return _fail(Failure.LOOKALIKE if _lookalike_tags(text, start, last, end) else Failure.MALFORMED)


def _lenient(text: str, start: int, end: int) -> ParsedVerdict:
    last: _Mark | None = None
    for mark in _iter_marks(text, start, end):
        if last is not None and mark.label != last.label:
            return _fail(Failure.COMPETING)
        last = mark  # marks come in order, so the last one seen is the last one written
    if last is None:
        return _fail(_no_mark_reason(text, start, end))
    if _ends_truncated(text, start, end):
        return _fail(Failure.TRUNCATED)
    return _OK[last.label] if last.plain else _fail(Failure.LOOKALIKE)


def _no_mark_reason(text: str, start: int, end: int) -> Failure:
    """Why a response whose answer region holds no verdict mark failed."""
    if _ends_truncated(text, start, end):
        return Failure.TRUNCATED
    if _has_mark(text, 0, start):
        return Failure.INSIDE_THINKING
    return Failure.MALFORMED if text.find("<answer", start, end) >= 0 else Failure.MISSING


def _fail(reason: Failure) -> ParsedVerdict:
    return ParsedVerdict(None, reason)
