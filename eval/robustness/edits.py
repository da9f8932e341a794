"""Text edits for probes: obfuscation, counterfactual edits that break the key fact, meaning-preserving rewrites.

Every edit is a pure function of the text and a seeded ``random.Random``. Edits leave fenced code
alone unless the edit is about the code. A counterfactual edit returns an :class:`Edit` naming its
rule and the key fact before and after, so reports state the extraction rule and its coverage; it
returns None when no rule finds a key fact (the item is then outside the counterfactual's coverage).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

ZERO_WIDTH: tuple[str, ...] = ("\u200b", "\u200c", "\u2060")  # zero width space, non-joiner, word joiner
HOMOGLYPHS: dict[str, str] = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "i": "і",
                              "A": "А", "E": "Е", "O": "О", "C": "С", "P": "Р", "B": "В"}  # Latin -> Cyrillic
# Extraction rules, in the order they are tried; the report prints these sentences.
RULES: dict[str, str] = {
    "code_operator": "the first comparison or arithmetic operator inside the first fenced code block, inverted",
    "code_output": "the number after a stated output ('output', 'returns', 'prints'), changed",
    "final_number": "the last number of the answer outside code, changed",
    "negation": "the first sentence with a copula or modal ('is', 'are', 'can', ...), negated (or un-negated)",
}
_FENCE = re.compile(r"(```.*?```)", re.DOTALL)
_OPERATORS = re.compile(r"<=|>=|==|!=|(?<![<>=!-])[<>](?![=>])| \+ | - | \* ")
_INVERSE = {"<=": ">", ">=": "<", "==": "!=", "!=": "==", "<": ">=", ">": "<=", " + ": " - ", " - ": " + ",
            " * ": " + "}
_OUTPUT = re.compile(r"(?i)\b(?:output|returns?|prints?)\b\s*(?:is|:|=)?\s*`?(-?\d+(?:\.\d+)?)")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_NEGATABLE = re.compile(r"\b(is|are|was|were|can|will|does|do|should)( not\b)?", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s+", re.MULTILINE)


@dataclass(frozen=True)
class Edit:
    """A counterfactual edit: which rule fired, the key fact before and after, and the edited text."""

    rule: str
    before: str
    after: str
    text: str


def zero_width(text: str, rng: random.Random) -> str:
    """``text`` with an invisible character after roughly every third letter (reads the same)."""
    return "".join(ch + (rng.choice(ZERO_WIDTH) if ch.isalpha() and rng.random() < 0.34 else "") for ch in text)


def homoglyph(text: str, rng: random.Random) -> str:
    """``text`` with about half its swappable Latin letters replaced by Cyrillic lookalikes."""
    return "".join(HOMOGLYPHS[ch] if ch in HOMOGLYPHS and rng.random() < 0.5 else ch for ch in text)


def counterfactual(text: str, rng: random.Random) -> Edit | None:
    """Break the answer's key fact by the first rule of :data:`RULES` that finds one, else None."""
    fence = _FENCE.search(text)
    if fence:
        found = _OPERATORS.search(fence.group(1))
        if found:
            start = fence.start() + found.start()
            new = _INVERSE[found.group(0)]
            return Edit("code_operator", found.group(0), new, text[:start] + new + text[start + len(found.group(0)):])
    prose = _FENCE.sub(lambda m: " " * len(m.group(0)), text)  # positions kept, code hidden
    stated = _OUTPUT.search(prose)
    if stated:
        return number_edit("code_output", text, stated.start(1), stated.end(1), rng)
    numbers = list(NUMBER.finditer(prose))
    if numbers:
        return number_edit("final_number", text, numbers[-1].start(), numbers[-1].end(), rng)
    for sentence in _SENTENCE.finditer(prose):
        verb = _NEGATABLE.search(sentence.group(0))
        if verb:
            start, end = sentence.start() + verb.start(), sentence.start() + verb.end()
            old = text[start:end]
            new = verb.group(1) if verb.group(2) else f"{verb.group(1)} not"
            return Edit("negation", old, new, text[:start] + new + text[end:])
    return None


def number_edit(rule: str, text: str, start: int, end: int, rng: random.Random) -> Edit:
    old = text[start:end]
    delta = rng.choice((1, 2, 3, 5, 10))
    if "." in old:
        places = len(old.split(".")[1])
        new = f"{float(old) + delta:.{places}f}"
    else:
        new = str(int(old) + delta)
    return Edit(rule, old, new, text[:start] + new + text[end:])


def outside_code(text: str, edit: Callable[[str], str]) -> str:
    """Apply ``edit`` to the prose between fenced code blocks only."""
    parts = _FENCE.split(text)
    return "".join(part if i % 2 else edit(part) for i, part in enumerate(parts))


def toggle_markdown(text: str) -> str:
    """Markdown emphasis and headings stripped; plain text gets a bold lead-in label instead."""
    if _MARKDOWN.search(_FENCE.sub("", text)):
        return outside_code(text, lambda s: _MARKDOWN.sub("", s))
    return f"**Answer.** {text}"


def respace(text: str) -> str:
    """Blank lines doubled and sentence gaps widened: the same words, other whitespace."""
    return "\n" + outside_code(text, lambda s: s.replace("\n", "\n\n").replace(". ", ".  ")) + "\n"


def toggle_bullets(text: str) -> str:
    """Bullet lines joined into prose, or prose sentences split into bullets."""
    if _BULLET.search(_FENCE.sub("", text)):
        return outside_code(text, lambda s: _BULLET.sub("", s).replace("\n", " "))
    if _FENCE.search(text):
        return text.replace("\n\n", "\n\n- ", 1) if "\n\n" in text else f"- {text}"
    sentences = [s.group(0).strip() for s in _SENTENCE.finditer(text) if s.group(0).strip()]
    return "\n".join(f"- {s}" for s in sentences)


def heavy_markdown(text: str) -> str:
    """The same text dressed in headings, bold and a quoted summary (style without substance)."""
    first = next((s.group(0).strip() for s in _SENTENCE.finditer(text) if s.group(0).strip()), "")
    return f"## Overview\n\n**Key point:** {text}\n\n---\n\n> **In short:** {first}"


REWRITES: dict[str, Callable[[str], str]] = {"markdown": toggle_markdown, "whitespace": respace,
                                             "bullets": toggle_bullets}
