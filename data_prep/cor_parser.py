"""Read the Chain-of-Rubrics structure of a judge's response.

The structure the instruct prompt asks for, in order:

1. ``<type>Reasoning</type>`` or ``<type>Chat</type>``;
2. Reasoning: ``<solution>...</solution>``; Chat: ``<rubric>...</rubric>`` with percentage weights
   and a ``<justify>...</justify>`` (inside the rubric or right after it);
3. ``<eval>...</eval>`` holding ``<quote_A>``, ``<summary_A>``, ``<quote_B>``, ``<summary_B>`` evidence;
4. the verdict, read by :func:`reward_fns.parse_verdict` (this module never parses verdicts itself).

:func:`parse_cor` never raises on any string: it returns what it found and a list of
:class:`Problem` values, so distillation can keep only complete traces and the robustness suite can
count which parts a judge skips.

>>> parsed = parse_cor("<type>Chat</type><rubric>Accuracy 60%, tone 40%</rubric><eval></eval><answer>[[B]]</answer>")
>>> parsed.task_type, parsed.rubric_weights, parsed.label, [p.value for p in parsed.problems]
('Chat', (60.0, 40.0), 'B', ['missing_justify', 'missing_evidence'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from reward_fns import ParsedVerdict, parse_verdict
from reward_fns.verdict import Mode

TASK_TYPES: tuple[str, str] = ("Reasoning", "Chat")
EVIDENCE_TAGS: tuple[str, ...] = ("quote_A", "summary_A", "quote_B", "summary_B")
COR_TAGS: tuple[str, ...] = ("type", "solution", "rubric", "justify", "eval", *EVIDENCE_TAGS)  # every tag of a trace
_WEIGHT = re.compile(r"(\d{1,3}(?:\.\d{1,4})?)[ \t]?%")


class Problem(str, Enum):
    """A way a response departs from the Chain-of-Rubrics structure (the value is what reports show)."""

    MISSING_TYPE = "missing_type"
    UNKNOWN_TYPE = "unknown_type"  # a <type> other than Reasoning / Chat
    MISSING_SOLUTION = "missing_solution"  # Reasoning task without <solution>
    MISSING_RUBRIC = "missing_rubric"  # Chat task without <rubric>
    MISSING_JUSTIFY = "missing_justify"  # Chat rubric without <justify>
    UNWEIGHTED_RUBRIC = "unweighted_rubric"  # a rubric with no percentage weights
    MISSING_EVAL = "missing_eval"
    MISSING_EVIDENCE = "missing_evidence"  # <eval> lacks one of the quote/summary tags
    UNCLOSED_TAG = "unclosed_tag"  # a structure tag opened and never closed
    OUT_OF_ORDER = "out_of_order"  # not type -> solution/rubric -> eval -> verdict
    BAD_VERDICT = "bad_verdict"  # parse_verdict found no verdict (see ``verdict.failure``)


@dataclass(frozen=True)
class CoRParse:
    """What :func:`parse_cor` found. Texts are stripped; absent parts are None."""

    task_type: str | None
    solution: str | None
    rubric: str | None
    justify: str | None
    rubric_weights: tuple[float, ...]
    eval: str | None
    evidence: Mapping[str, tuple[str, ...]]
    verdict: ParsedVerdict
    problems: tuple[Problem, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """True when every required part is present, in order, with a readable verdict."""
        return not self.problems

    @property
    def label(self) -> str | None:
        """The verdict label ('A'/'B') or None."""
        return self.verdict.label


@dataclass(frozen=True)
class _Block:
    text: str
    start: int  # index of the opening tag


def _block(text: str, tag: str, problems: list[Problem], lo: int = 0, hi: int | None = None) -> _Block | None:
    """The first ``<tag>...</tag>`` in text[lo:hi]; an opening tag without its close is a problem."""
    hi = len(text) if hi is None else hi
    opening, closing = f"<{tag}>", f"</{tag}>"
    i = text.find(opening, lo, hi)
    if i < 0:
        return None
    j = text.find(closing, i + len(opening), hi)
    if j < 0:
        if Problem.UNCLOSED_TAG not in problems:
            problems.append(Problem.UNCLOSED_TAG)
        return None
    return _Block(text[i + len(opening) : j].strip(), i)


def parse_cor(text: str, mode: Mode = "strict") -> CoRParse:
    """Read the CoR parts of ``text``; the verdict comes from ``parse_verdict(text, mode)``."""
    if not isinstance(text, str):
        raise TypeError(f"parse_cor expects str, got {type(text).__name__}")
    problems: list[Problem] = []
    type_block = _block(text, "type", problems)
    task_type = _task_type(type_block, problems)
    solution = _block(text, "solution", problems)
    rubric = _block(text, "rubric", problems)
    justify = _block(text, "justify", problems)
    eval_block = _block(text, "eval", problems)
    weights = tuple(float(w) for w in _WEIGHT.findall(rubric.text)) if rubric else ()
    if task_type == "Reasoning" and solution is None:
        problems.append(Problem.MISSING_SOLUTION)
    if task_type == "Chat":
        problems += _rubric_problems(rubric, justify, weights)
    evidence = _evidence(text, eval_block, problems)
    verdict = parse_verdict(text, mode)
    if not verdict.ok:
        problems.append(Problem.BAD_VERDICT)
    yardstick = solution if task_type == "Reasoning" else rubric
    if not _in_order(type_block, yardstick, eval_block, text.rfind("[[") if verdict.ok else None):
        problems.append(Problem.OUT_OF_ORDER)
    return CoRParse(
        task_type=task_type,
        solution=solution.text if solution else None,
        rubric=rubric.text if rubric else None,
        justify=justify.text if justify else None,
        rubric_weights=weights,
        eval=eval_block.text if eval_block else None,
        evidence=evidence,
        verdict=verdict,
        problems=tuple(problems),
    )


def _task_type(block: _Block | None, problems: list[Problem]) -> str | None:
    if block is None:
        problems.append(Problem.MISSING_TYPE)
        return None
    for name in TASK_TYPES:
        if block.text.lower() == name.lower():
            return name
    problems.append(Problem.UNKNOWN_TYPE)
    return None


def _rubric_problems(rubric: _Block | None, justify: _Block | None, weights: tuple[float, ...]) -> list[Problem]:
    if rubric is None:
        return [Problem.MISSING_RUBRIC] + ([] if justify else [Problem.MISSING_JUSTIFY])
    found = [] if justify else [Problem.MISSING_JUSTIFY]
    return found + ([] if weights else [Problem.UNWEIGHTED_RUBRIC])


def _evidence(text: str, eval_block: _Block | None, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    if eval_block is None:
        problems.append(Problem.MISSING_EVAL)
        return {tag: () for tag in EVIDENCE_TAGS}
    body = eval_block.text
    found = {
        tag: tuple(m.strip() for m in re.findall(f"<{tag}>(.*?)</{tag}>", body, re.DOTALL)) for tag in EVIDENCE_TAGS
    }
    if not all(found.values()):
        problems.append(Problem.MISSING_EVIDENCE)
    return found


def _in_order(*parts: _Block | int | None) -> bool:
    positions = [p.start if isinstance(p, _Block) else p for p in parts]
    present = [p for p in positions if p is not None and p >= 0]
    return present == sorted(present)
