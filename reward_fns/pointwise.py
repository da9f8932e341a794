"""The pointwise contract: a judge scores ONE answer from 1 to 10 in a ``<score>`` tag, and we read it.

The pairwise verdict (:mod:`reward_fns.verdict`) needs two answers; a pointwise judgment needs one, so
it is the reward for policy RL with one judge call per rollout, and in eval two pointwise scores give
a pairwise decision (:func:`eval.voting.pointwise_votes`). The same two parse modes and the same
:class:`reward_fns.verdict.Failure` reasons as the verdict, so reports show both side by side.

Strict (what a reward reads): ``<score>N</score>`` with N a whole number from 1 to 10, written in ASCII
(spaces and newlines allowed around N), exactly one such tag after the reasoning block (the last
``</think>``), and nothing but whitespace after it. Lenient (reported beside strict, never rewarded):
the last tag after the reasoning block in any case, ``N/10`` allowed, text after it allowed, repeats of
the same number allowed.

Failures (both modes): ``missing`` no tag; ``competing`` two tags (strict) or two different numbers;
``not_at_end`` text after the tag (strict); ``malformed`` a tag whose content is not a whole number
from 1 to 10 (``0``, ``11``, ``7.5``, ``seven``), or a tag in the wrong case (strict);
``lookalike`` a tag or number in lookalike characters (``＜score＞``, fullwidth ``７``);
``inside_thinking`` a tag only inside the reasoning block; ``truncated`` the reasoning block never
closes, or the output ends inside a tag.

>>> parse_score("<think>Clear and correct.</think> <score>8</score>").score
8
>>> parse_score("<score>8</score> but maybe 9").failure.value
'not_at_end'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from reward_fns.verdict import MODES, THINK_CLOSE, THINK_OPEN, Failure, Mode

# Part of the pointwise prompt's version (data_prep.prompts.POINTWISE_VERSION): a change here changes prompts.
POINTWISE_FORMAT_VERSION = "pointwise-score-v1"
SCORE_OPEN, SCORE_CLOSE = "<score>", "</score>"
LOWEST, HIGHEST = 1, 10

# Any tag-shaped span, in any case; group 1 is its content (bounded: a tag is short).
_TAG = re.compile(r"<\s{0,4}score\s{0,4}>(.{0,64}?)<\s{0,4}/\s{0,4}score\s{0,4}>", re.IGNORECASE | re.DOTALL)
_STRICT_TAG = re.compile(r"<score>\s{0,64}(\d{1,2})\s{0,64}</score>")
_STRICT_CONTENT = re.compile(r"\s*(\d{1,2})\s*")
_LENIENT_CONTENT = re.compile(r"\s*(\d{1,2})\s*(?:/\s*10\s*)?")
# How a cut-off output ends: inside a tag (``</sco``, ``<sc``; ``<`` then a space is prose, "x < y"),
# or after an opened tag and maybe its number.
_PARTIAL_END = re.compile(r"(?:<(?:[ \t]{0,4}/[ \t]{0,4}[A-Za-z_]{0,24}[ \t]{0,4}|[A-Za-z_]{0,24})"
                          r"|<score>\s{0,64}\d{0,2}\s{0,64})\Z", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedScore:
    """The outcome of parsing one pointwise judgment: exactly one of ``score`` and ``failure`` is set."""

    score: int | None
    failure: Failure | None

    @property
    def ok(self) -> bool:
        return self.score is not None


def format_score(score: int) -> str:
    """Render the tag for ``score``.

    >>> format_score(7)
    '<score>7</score>'
    """
    if isinstance(score, bool) or not isinstance(score, int) or not LOWEST <= score <= HIGHEST:
        raise ValueError(f"pointwise score {score!r} is not a whole number from {LOWEST} to {HIGHEST}.")
    return f"{SCORE_OPEN}{score}{SCORE_CLOSE}"


def parse_score(text: str, mode: Mode = "strict") -> ParsedScore:
    """Read the judge's 1-10 score from a response (see the module docstring for both modes)."""
    if not isinstance(text, str):
        raise TypeError(f"parse_score expects str, got {type(text).__name__}")
    if mode not in MODES:
        raise ValueError(f"pointwise parse mode {mode!r} is not one of {MODES}.")
    start = _answer_start(text)
    if start < 0:  # a reasoning block that never closes: a tag in it is not an answer
        return _fail(Failure.INSIDE_THINKING if _TAG.search(text) else Failure.TRUNCATED)
    region = text[start:].rstrip()
    tags = list(_TAG.finditer(region))
    if not tags:
        return _fail(_no_tag_reason(text[:start], region))
    return _strict(region, tags) if mode == "strict" else _lenient(region, tags)


def _answer_start(text: str) -> int:
    """Where the answer region begins: after the last ``</think>``; -1 if a later ``<think>`` never closes."""
    close, opened = text.rfind(THINK_CLOSE), text.rfind(THINK_OPEN)
    if opened > close:
        return -1
    return close + len(THINK_CLOSE) if close >= 0 else 0


def _no_tag_reason(thinking: str, region: str) -> Failure:
    if _PARTIAL_END.search(region[-96:]):
        return Failure.TRUNCATED
    if _TAG.search(thinking):
        return Failure.INSIDE_THINKING
    folded = unicodedata.normalize("NFKC", region)
    if _TAG.search(folded):
        return Failure.LOOKALIKE
    return Failure.MALFORMED if "<score" in region.lower() else Failure.MISSING


def _value(content: str, lenient: bool) -> int | Failure:
    """The number a tag holds, or why it holds none."""
    match = (_LENIENT_CONTENT if lenient else _STRICT_CONTENT).fullmatch(content)
    if match is None or not match.group(1).isascii():
        folded = unicodedata.normalize("NFKC", content)
        return Failure.LOOKALIKE if folded != content and _value(folded, lenient) != Failure.MALFORMED \
            else Failure.MALFORMED
    value = int(match.group(1))
    return value if LOWEST <= value <= HIGHEST else Failure.MALFORMED


def _strict(region: str, tags: list[re.Match[str]]) -> ParsedScore:
    if len(tags) > 1:
        return _fail(Failure.COMPETING)
    tag = tags[0]
    if region[tag.end():].strip():
        return _fail(Failure.NOT_AT_END)
    if _STRICT_TAG.fullmatch(tag.group(0)) is None:  # wrong case or spacing in the tag itself
        value = _value(tag.group(1), lenient=False)
        return _fail(value if isinstance(value, Failure) else Failure.MALFORMED)
    value = _value(tag.group(1), lenient=False)
    return _fail(value) if isinstance(value, Failure) else ParsedScore(value, None)


def _lenient(region: str, tags: list[re.Match[str]]) -> ParsedScore:
    values = [_value(tag.group(1), lenient=True) for tag in tags]
    numbers = {v for v in values if not isinstance(v, Failure)}
    if len(numbers) > 1:
        return _fail(Failure.COMPETING)
    last = values[-1]
    return _fail(last) if isinstance(last, Failure) else ParsedScore(last, None)


def _fail(reason: Failure) -> ParsedScore:
    return ParsedScore(None, reason)


def reward(text: str, failure_reward: float = 0.0) -> float:
    """A strict pointwise judgment as a reward in [0, 1]: (score - 1) / 9; no score earns ``failure_reward``."""
    parsed = parse_score(text, "strict")
    return failure_reward if parsed.score is None else (parsed.score - LOWEST) / (HIGHEST - LOWEST)


def compute_score(data_source: str, solution_str: str, ground_truth: Any = None,
                  extra_info: dict[str, Any] | None = None) -> float:
    """verl's reward signature over ONE pointwise judgment of one rollout (one judge call per rollout).

    ``solution_str`` is the judge's response about the rollout; ``ground_truth`` is unused (a pointwise
    judge needs no reference); ``extra_info["failure_reward"]`` overrides the 0 a judgment without a
    score earns.

    >>> compute_score("any", "<think>ok</think><score>10</score>")
    1.0
    """
    failure = float((extra_info or {}).get("failure_reward", 0.0))
    return reward(solution_str, failure)
