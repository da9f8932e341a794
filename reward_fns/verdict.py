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

What counts as a "verdict mark": a double-bracketed single letter that reads as A or B (including
lookalikes and lowercase). Other double-bracket content (``[[1, 2]]`` in code) is ignored. An
``<answer>`` tag without a mark still counts towards competing verdicts in strict mode.

Speed: the common case scans the text with ``str.rfind``/``str.find``/``str.count`` only (C speed);
regular expressions run on a few characters around each candidate, so cost is linear in length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

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
_LOOKALIKE_MARK = re.compile(r"[\[［【〚⟦〔]{1,2}[ \t]{0,4}(\S)[ \t]{0,4}[\]］】〛⟧〕]{1,2}")
_STRICT_TAIL = re.compile(r"<answer>\s{0,64}\[\[([AB])\]\]\s{0,64}</answer>")
_CLOSE_TAG_LIKE = re.compile(r"\s{0,64}<\s{0,4}/\s{0,4}answer\s{0,4}>\s*", re.IGNORECASE)
_TAIL_WINDOW = 160  # longer than any strict verdict with its allowed whitespace


@dataclass(frozen=True, slots=True)
class _Mark:
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
        return _fail(Failure.INSIDE_THINKING if _marks(text, 0, len(text)) else Failure.TRUNCATED)
    end = len(text.rstrip())
    if mode == "strict":
        fast = _strict_fast_path(text, start, end)
        if fast is not None:
            return fast
        return _strict_failure(text, start, end)
    return _lenient(text, start, end)


def _answer_region_start(text: str) -> int:
    """Index where the answer region begins, or -1 if an opened reasoning block never closes."""
    k = text.rfind(THINK_CLOSE)
    if k >= 0:
        return k + len(THINK_CLOSE)
    return -1 if THINK_OPEN in text else 0


def _strict_fast_path(text: str, start: int, end: int) -> ParsedVerdict | None:
    """Accept a clean response using only C-speed scans; None means 'look closer'."""
    window = max(start, end - _TAIL_WINDOW)
    m = _STRICT_TAIL.search(text, window, end)
    if m is None or m.end() != end:
        return None
    if text.count("[[", start, end) != 1 or text.count("<answer", start, end) != 1:
        return None
    if not text.isascii() and _has_lookalike_bracket(text, start, end):
        return None
    return ParsedVerdict(m.group(1), None)


def _has_lookalike_bracket(text: str, start: int, end: int) -> bool:
    return any(text.find(c, start, end) >= 0 for c in _LOOKALIKE_OPEN)


def _marks(text: str, start: int, end: int) -> list[_Mark]:
    """Every double-bracketed A/B (any case, any lookalike) in text[start:end], in order."""
    found: list[_Mark] = []
    i = text.find("[[", start, end)
    while i >= 0:
        m = _MARK.match(text, i, end)
        if m:
            label = m.group(1).translate(_CONFUSABLES).upper()
            if label in LABELS:
                found.append(_Mark(i, m.end(), label, m.group(1) in LABELS))
        i = text.find("[[", i + 1, end)
    if not text.isascii() and _has_lookalike_bracket(text, start, end):
        found.extend(_lookalike_marks(text, start, end))
        found.sort(key=lambda mk: mk.start)
    return found


def _lookalike_marks(text: str, start: int, end: int) -> list[_Mark]:
    out = []
    for m in _LOOKALIKE_MARK.finditer(text, start, end):
        if "[[" in m.group(0):
            continue  # already found by the ASCII scan
        label = m.group(1).translate(_CONFUSABLES).upper()
        if label in LABELS:
            out.append(_Mark(m.start(), m.end(), label, False))
    return out


def _ends_mid_verdict(text: str, end: int) -> bool:
    """True if the text stops partway through a verdict (e.g. '<answer>[[A]]</ans')."""
    tail = text[max(0, end - _TAIL_WINDOW) : end]
    for label in LABELS:
        full = format_verdict(label)
        if any(tail.endswith(full[:k]) for k in range(3, len(full))):
            return True
    return False


def _strict_failure(text: str, start: int, end: int) -> ParsedVerdict:
    marks = _marks(text, start, end)
    n_tags = text.count("<answer", start, end)
    if not marks:
        if _ends_mid_verdict(text, end):
            return _fail(Failure.TRUNCATED)
        if _marks(text, 0, start):
            return _fail(Failure.INSIDE_THINKING)
        return _fail(Failure.MALFORMED if n_tags else Failure.MISSING)
    if len(marks) > 1 or n_tags > 1:
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
    marks = _marks(text, start, end)
    if not marks:
        if _ends_mid_verdict(text, end):
            return _fail(Failure.TRUNCATED)
        if _marks(text, 0, start):
            return _fail(Failure.INSIDE_THINKING)
        return _fail(Failure.MALFORMED if text.find("<answer", start, end) >= 0 else Failure.MISSING)
    if len({mk.label for mk in marks}) > 1:
        return _fail(Failure.COMPETING)
    last = marks[-1]
    if text[last.start : last.end].translate(_CONFUSABLES) != text[last.start : last.end]:
        return _fail(Failure.LOOKALIKE)
    return ParsedVerdict(last.label, None)


def _fail(reason: Failure) -> ParsedVerdict:
    return ParsedVerdict(None, reason)
