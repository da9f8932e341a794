"""Test-side helpers over the judge's texts: the other A/B position, a row's pair back from its JSON, the
candidates of a rendered prompt, and a well-formed Chain-of-Rubrics trace (scripted judges, tests).

>>> trace = compose_cor("Chat", "B", rubric="Accuracy 60%, tone 40%", justify="Facts first.",
...                     evidence=Evidence("x", "wrong", "y", "right"))
>>> from data_prep.cor_parser import parse_cor
>>> parsed = parse_cor(trace)
>>> parsed.task_type, parsed.rubric_weights, parsed.label, parsed.complete
('Chat', (60.0, 40.0), 'B', True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from data_prep.cor_parser import EVIDENCE_TAGS, TASK_TYPES
from data_prep.pairs import PreferencePair, make_pair
from data_prep.prompts import CONVERSATION_MARKERS, RESPONSE_MARKERS
from reward_fns import LABELS, format_verdict


def swap(position: str) -> str:
    """The other position: 'A' <-> 'B'."""
    if position not in LABELS:
        raise ValueError(f"position {position!r} is not one of {LABELS}.")
    return LABELS[1] if position == LABELS[0] else LABELS[0]


def pair_from_dict(data: Mapping[str, Any] | str) -> PreferencePair:
    """Rebuild a pair from :meth:`~data_prep.pairs.PreferencePair.to_json` (a row's ``extra_info.pair``)."""
    fields: Mapping[str, Any] = json.loads(data) if isinstance(data, str) else data
    return make_pair(fields["source"], fields["conversation"], fields["chosen"], fields["rejected"],
                     pair_id=fields.get("id"), metadata=fields.get("metadata") or {})


def extract_candidates(text: str) -> tuple[str, str] | None:
    """Texts of candidates A and B between the response (or conversation) markers, else None."""
    for markers in (RESPONSE_MARKERS, CONVERSATION_MARKERS):
        found = []
        for label in LABELS:
            start, end = markers[label]
            i = text.find(start)
            j = text.find(end, i + len(start)) if i >= 0 else -1
            if j < 0:
                break
            found.append(text[i + len(start) : j].strip("\n"))
        if len(found) == 2:
            return found[0], found[1]
    return None


@dataclass(frozen=True)
class Evidence:
    """The four evidence fields of an ``<eval>`` block."""

    quote_a: str
    summary_a: str
    quote_b: str
    summary_b: str



def compose_cor(
    task_type: str,
    label: str,
    *,
    evidence: Evidence,
    solution: str | None = None,
    rubric: str | None = None,
    justify: str | None = None,
    comparison: str = "",
) -> str:
    """Write a well-formed CoR trace ending in ``format_verdict(label)``.

    A Reasoning trace needs ``solution``; a Chat trace needs ``rubric`` and ``justify``.
    """
    if task_type not in TASK_TYPES:
        raise ValueError(f"task_type {task_type!r} is not one of {TASK_TYPES}.")
    if task_type == "Reasoning" and solution is None:
        raise ValueError("a Reasoning trace needs a solution; pass solution=...")
    if task_type == "Chat" and (rubric is None or justify is None):
        raise ValueError("a Chat trace needs a rubric and a justify; pass rubric=... and justify=...")
    parts = [f"<type>{task_type}</type>"]
    if task_type == "Reasoning":
        parts.append(f"<solution>\n{solution}\n</solution>")
    else:
        parts.append(f"<rubric>\n{rubric}\n<justify>\n{justify}\n</justify>\n</rubric>")
    fields = (evidence.quote_a, evidence.summary_a, evidence.quote_b, evidence.summary_b)
    tagged = "\n".join(f"<{tag}>{value}</{tag}>" for tag, value in zip(EVIDENCE_TAGS, fields, strict=True))
    lead = f"{comparison}\n" if comparison else ""
    parts.append(f"<eval>\n{lead}{tagged}\n</eval>")
    parts.append(format_verdict(label))
    return "\n".join(parts)
