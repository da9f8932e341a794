"""Scripted Chain-of-Rubrics teachers for the loopback judge (distillation tests and the preflight).

:func:`case_teacher` and :func:`write_case_rows` script a teacher row by row: each row's question
names its case (``case-correct``, ``case-wrong``, ``case-malformed``, ``case-nostructure``,
``case-truncated``) and its chosen answer carries ``GOOD``; asked to correct, it leaks the hint
("As instructed") exactly when told B, so leak rejection is exercised on known rows.

:func:`cor_judge` writes a complete CoR trace (:func:`testkit.judge_texts.compose_cor`) that quotes
both candidates and picks the side ``pick(text_a, text_b)`` names (default: the longer reply). Asked
to correct a judgment (the pass-2 request names one verdict and shows no candidates), it writes a
complete trace for the verdict it was told, optionally with a ``leak`` sentence that gives the hint
away, so the leak filter has something to catch.

>>> from testkit.loopback_policies import render_candidates
>>> from reward_fns import format_verdict
>>> cor_judge()(render_candidates("a long and careful answer", "short")).endswith(format_verdict("A"))
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from data_prep.pairs import make_pair
from data_prep.prompts import builtin_template
from data_prep.writers import rl_row, write_parquet_rows
from reward_fns import LABELS, format_verdict
from testkit.judge_texts import Evidence, compose_cor, extract_candidates
from testkit.loopback_policies import ExtractionError, Policy

RUBRIC = ("1. Correctness (50%): the reply is right.\n2. Helpfulness (30%): it meets the need.\n"
          "3. Clarity (20%): it reads easily.")
JUSTIFY = "Getting it right matters most; usefulness and clarity follow."


def longer(text_a: str, text_b: str) -> str:
    """The label of the longer reply (A on a tie)."""
    return "A" if len(text_a) >= len(text_b) else "B"


def told_label(prompt: str) -> str | None:
    """The one verdict a correction request names, else None."""
    named = [label for label in LABELS if format_verdict(label) in prompt]
    return named[0] if len(named) == 1 else None


def cor_trace(label: str, text_a: str, text_b: str, comparison: str = "") -> str:
    """A complete Chat-type CoR trace for ``label`` quoting the first line of each candidate."""
    quote_a, quote_b = (t.strip().splitlines()[0][:60] if t.strip() else "(empty)" for t in (text_a, text_b))
    good, weak = "Meets the heavier criteria best.", "Falls short on the heavier criteria."
    summary_a, summary_b = (good, weak) if label == "A" else (weak, good)
    return compose_cor("Chat", label, rubric=RUBRIC, justify=JUSTIFY,
                       evidence=Evidence(quote_a, summary_a, quote_b, summary_b),
                       comparison=comparison or f"Chatbot {label} scores higher on the weighted rubric.")


def cor_judge(pick: Callable[[str, str], str] = longer, *, leak: str | None = None) -> Policy:
    """A CoR teacher: judges by ``pick``; corrects to the verdict it is told (adding ``leak`` if given)."""

    def decide(prompt: str) -> str:
        found = extract_candidates(prompt)
        if found is None:
            label = told_label(prompt)
            if label is None:
                raise ExtractionError("the CoR judge found neither two candidates nor a verdict to correct to.")
            return cor_trace(label, "(see the earlier request)", "(see the earlier request)",
                             leak or f"On the merits, Chatbot {label}'s reply is the better one.")
        return cor_trace(pick(*found), *found)

    return decide


def case_teacher(prompt: str) -> str:
    """Pass 1: behave as the row's case says; pass 2: a complete trace for the told verdict (leaking for B)."""
    found = extract_candidates(prompt)
    if found is None:
        label = told_label(prompt)
        if label is None:
            raise ExtractionError("the case teacher found neither candidates nor a verdict to correct to.")
        lead = "As instructed, I weigh the replies again." if label == "B" else "Weighing the replies on the rubric."
        return cor_trace(label, "(earlier)", "(earlier)", comparison=lead)
    text_a, text_b = found
    good = "A" if "GOOD" in text_a else "B"
    case = re.search(r"case-(\w+)", prompt)
    kind = case.group(1) if case else "correct"
    if kind == "wrong":
        return cor_trace("B" if good == "A" else "A", text_a, text_b)
    if kind == "malformed":
        return f"{format_verdict('A')} or rather {format_verdict('B')}"
    if kind == "nostructure":
        return f"Chatbot {good} is better.\n{format_verdict(good)}"
    if kind == "truncated":  # longer than any max_tokens a test sets, so the server cuts it
        return "filler " * 400 + cor_trace(good, text_a, text_b)
    return cor_trace(good, text_a, text_b)


def write_case_rows(path: str | os.PathLike[str], cases: Sequence[tuple[str, str]], variant: str = "instruct") -> Path:
    """A distill.parquet whose row ``i`` (id ``row-NN``) has case ``cases[i][0]``, chosen answer at ``cases[i][1]``."""
    rows = []
    for i, (case, truth) in enumerate(cases):
        pair = make_pair("synthetic", f"Question {i} (case-{case}): which reply is better?", f"GOOD answer {i}.",
                         f"weak answer {i}.", pair_id=f"row-{i:02d}")
        rows.append(rl_row(pair, template=builtin_template(variant), chosen_position=truth, split="distill",
                           index=i, variant=variant, seed=0))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_parquet_rows(rows, path)
    return Path(path)
