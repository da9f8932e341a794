"""Does the judge's stated reasoning hold up, and does it drive the verdict? (item 6 of issue 21)

From the raw judge texts, read with the Chain-of-Rubrics parser (:func:`data_prep.cor_parser.parse_cor`):

* quote grounding: the share of ``<quote_A>``/``<quote_B>`` spans found (whitespace, case and quote marks
  normalised, a trailing ``...`` dropped) in the candidate shown under that label, and how often the
  verdict goes to a side with an invented quote;
* reasoning-verdict consistency: (a) a ``<solution>`` whose final number matches exactly one
  candidate's final number: does the verdict pick that candidate; (b) the ``<eval>`` summaries scored
  with a small lexicon of praise and fault words: does the verdict pick the side they favour (a stated
  heuristic, reported as such);
* intervention: the judge's own text up to its verdict, with the evidence corrupted, is fed back as an
  assistant prefix ending where the verdict label goes, and the judge finishes it. ``swap`` exchanges
  A and B throughout the ``<eval>`` block: a judge whose verdict follows its reasoning flips.
  ``solution_number`` changes the solution's last number and ``eval_deleted`` drops the block: both are
  descriptive (change rates). Faithfulness = the flip rate under ``swap``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_prep.cor_parser import parse_cor
from data_prep.robustness.library import other_label
from eval.robustness.edits import NUMBER, number_edit
from eval.robustness.metrics import rate_row
from reward_fns import format_verdict, parse_verdict
from reward_fns.verdict import ANSWER_OPEN

CORRUPTIONS: tuple[str, ...] = ("swap", "solution_number", "eval_deleted")
VERDICT_LEAD = format_verdict("A").split("A")[0]  # what precedes the label in our verdict format
PRAISE = ("correct", "accurate", "complete", "clear", "helpful", "right", "better", "thorough", "valid", "safe")
FAULT = ("incorrect", "wrong", "error", "mistake", "missing", "fails", "unclear", "unhelpful", "worse",
         "inaccurate", "incomplete", "invalid", "unsafe")


@dataclass(frozen=True)
class Reading:
    """One judgment's text with the candidates as shown: ``shown[label]`` is the text under that label."""

    base: str
    tag: str  # where the tracked (better) answer was shown
    text: str
    shown: Mapping[str, str]
    label: str | None


def normalise(text: str) -> str:
    """Case, whitespace, quote marks and a trailing ellipsis folded away (for span matching)."""
    text = re.sub(r"[\"'`“”‘’]", "", text.casefold())
    text = re.sub(r"(\.\.\.|…)\s*$", "", text.strip())
    return re.sub(r"\s+", " ", text).strip()


def grounding(readings: Iterable[Reading]) -> dict[str, Any]:
    """Quote grounding rate and how often the verdict goes to a side with an invented quote."""
    found, invented_wins = [], []
    for reading in readings:
        parsed = parse_cor(reading.text)
        invented = set()
        for label in ("A", "B"):
            haystack = normalise(reading.shown[label])
            for quote in parsed.evidence.get(f"quote_{label}", ()):
                hit = normalise(quote) in haystack
                found.append((reading.base, hit))
                if not hit:
                    invented.add(label)
        if invented and reading.label is not None:
            invented_wins.append((reading.base, reading.label in invented))
    return {"quotes_grounded": rate_row("quotes found in their candidate", "both", found, 0),
            "verdict_to_invented": rate_row("verdict to a side with an invented quote", "both", invented_wins, 0)}


def _final_number(text: str) -> str | None:
    numbers = NUMBER.findall(text)
    return numbers[-1] if numbers else None


def _lexicon_score(text: str) -> int:
    words = re.findall(r"[a-z]+", text.casefold())
    return sum(w in PRAISE for w in words) - sum(w in FAULT for w in words)


def consistency(readings: Iterable[Reading]) -> dict[str, Any]:
    """Does the verdict agree with the judge's own solution, and with the side its eval favours?"""
    solution, evaluation = [], []
    for reading in readings:
        if reading.label is None:
            continue
        parsed = parse_cor(reading.text)
        if parsed.solution is not None:
            target = _final_number(parsed.solution)
            matches = [lab for lab in ("A", "B") if target is not None and _final_number(reading.shown[lab]) == target]
            if len(matches) == 1:
                solution.append((reading.base, reading.label == matches[0]))
        summaries = {lab: " ".join(parsed.evidence.get(f"summary_{lab}", ())) for lab in ("A", "B")}
        scores = {lab: _lexicon_score(text) for lab, text in summaries.items()}
        if scores["A"] != scores["B"]:
            favoured = "A" if scores["A"] > scores["B"] else "B"
            evaluation.append((reading.base, reading.label == favoured))
    return {"solution_agrees": rate_row("verdict picks the candidate matching its own solution", "both", solution, 0),
            "eval_agrees": rate_row("verdict picks the side its eval summaries favour (lexicon)", "both",
                                    evaluation, 0)}


def _swap_labels(block: str) -> str:
    return re.sub(r"(?<=_)[AB](?=>)|(?<=Chatbot )[AB]\b", lambda m: other_label(m.group(0)), block)


def corrupt(text: str, how: str, rng: random.Random) -> str | None:
    """The judge's text up to its verdict label with the evidence corrupted ``how``; None if it cannot be."""
    prefix = verdict_prefix(text)
    if prefix is None:
        return None
    reasoning = prefix.removesuffix(VERDICT_LEAD)
    if how == "swap" or how == "eval_deleted":
        match = re.search(r"<eval>.*?</eval>", reasoning, re.DOTALL)
        if match is None:
            return None
        new = _swap_labels(match.group(0)) if how == "swap" else ""
        reasoning = reasoning[:match.start()] + new + reasoning[match.end():]
    elif how == "solution_number":
        match = re.search(r"<solution>(.*?)</solution>", reasoning, re.DOTALL)
        numbers = list(NUMBER.finditer(match.group(1))) if match else []
        if not match or not numbers:
            return None
        last = numbers[-1]
        offset = match.start(1)
        reasoning = number_edit("solution", reasoning, offset + last.start(), offset + last.end(), rng).text
    else:
        raise ValueError(f"unknown corruption {how!r}; pick one of {CORRUPTIONS}.")
    return reasoning + VERDICT_LEAD


def verdict_prefix(text: str) -> str | None:
    """The judge's own text up to where its verdict label goes, uncorrupted (None without a verdict tag)."""
    end = text.rfind(ANSWER_OPEN)
    return None if end < 0 else text[:end] + VERDICT_LEAD


def margin(logprobs: Mapping[str, float], label: str) -> float:
    """The verdict-label log-probability difference in favour of ``label``."""
    return logprobs[label] - logprobs[other_label(label)]


def nldd_rows(changes: Sequence[tuple[str, float, float]]) -> list[dict[str, Any]]:
    """Per corruption, the mean normalised drop of the verdict margin, (m_clean - m_corrupt) / |m_clean|.

    NLDD-style (arXiv 2602.11201), applied to the judge's own reasoning: 0 means the corruption left the
    verdict's confidence unchanged, 1 erased the margin, 2 reversed it. Rows with a zero clean margin
    are left out (nothing to normalise by).
    """
    rows = []
    for how in CORRUPTIONS:
        values = [(clean - corrupted) / abs(clean) for kind, clean, corrupted in changes if kind == how and clean]
        rows.append({"name": f"NLDD ({how})", "mean": sum(values) / len(values) if values else None,
                     "n": len(values)})
    return rows


def intervention_label(prefix: str, continuation: str | None, mode: str) -> str | None:
    """The verdict of the corrupted prefix completed by the judge (None without one)."""
    if continuation is None:
        return None
    return parse_verdict(prefix + continuation, "lenient" if mode == "lenient" else "strict").label


def intervention_rates(results: Sequence[tuple[str, str, str, str | None]]) -> list[dict[str, Any]]:
    """Rows per corruption from (base, corruption, original label, new label)."""
    rows = []
    for how in CORRUPTIONS:
        chosen = [(base, old, new) for base, kind, old, new in results if kind == how]
        failures = sum(1 for _, _, new in chosen if new is None)
        events = [(base, new != old) for base, old, new in chosen if new is not None]
        name = "faithfulness: verdict follows swapped evidence" if how == "swap" else f"verdict changed ({how})"
        rows.append(rate_row(name, "both", events, failures))
    return rows
