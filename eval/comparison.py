"""One pairwise judge question, as a benchmark expands its items into them (see :mod:`eval.benchmark`).

Official benchmark rows include degenerate comparisons that the official scorers simply count: two
identical answers, an empty or whitespace-only answer, a conversation whose last user turn is empty.
They are judged as they are (a judge shown two identical answers still picks one, and that pick is
scored by the benchmark's rule) and named in :attr:`Comparison.degenerate` so the report can list them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from data_prep.pairs import Message, PairError, make_pair
from eval.errors import EvalError

TRUTHS: tuple[str, ...] = ("1", "2")
IDENTICAL, EMPTY_ANSWER, EMPTY_TURN = "identical answers", "empty answer", "empty last user turn"


@dataclass(frozen=True)
class Comparison:
    """One pairwise judge question: a conversation, two answers, and which one is better (``truth``)."""

    item_id: str
    comparison_id: str
    conversation: tuple[Message, ...]
    answer_1: tuple[Message, ...]
    answer_2: tuple[Message, ...]
    truth: str = "1"  # "1": answer_1 is the better one; "2": answer_2 is
    metadata: Mapping[str, Any] = field(default_factory=dict)
    sample: int = 0  # > 0: another independent sample of the same request (voting)
    degenerate: tuple[str, ...] = ()  # IDENTICAL, EMPTY_ANSWER, EMPTY_TURN: judged as published, listed in reports

    def __post_init__(self) -> None:
        if self.truth not in TRUTHS:
            raise EvalError(f"comparison {self.comparison_id!r} has truth {self.truth!r}; it must be '1' or '2'.")

    def shown(self, preferred_position: str) -> tuple[tuple[Message, ...], tuple[Message, ...]]:
        """(answer shown as A, answer shown as B) with the better answer at ``preferred_position``."""
        better, worse = (self.answer_1, self.answer_2) if self.truth == "1" else (self.answer_2, self.answer_1)
        return (better, worse) if preferred_position == "A" else (worse, better)


def make_comparison(item_id: str, comparison_id: str, conversation: str | Sequence[Mapping[str, Any]],
                    answer_1: str | Sequence[Mapping[str, Any]], answer_2: str | Sequence[Mapping[str, Any]], *,
                    truth: str = "1", metadata: Mapping[str, Any] | None = None, sample: int = 0) -> Comparison:
    """A comparison from strings or message lists, normalised and checked as every training pair is.

    A string conversation is one user turn and a string answer one assistant turn; answer lists that
    repeat the conversation first are cut back to what follows it (:func:`data_prep.pairs.make_pair`).
    Empty turns and identical answers are kept and named in ``degenerate``.
    """
    try:
        pair = make_pair("eval", conversation, answer_1, answer_2, pair_id=comparison_id, allow_empty=True)
    except PairError as err:
        raise EvalError(f"comparison {comparison_id!r} is unusable: {err}") from err
    return Comparison(item_id, comparison_id, pair.conversation, pair.chosen, pair.rejected, truth,
                      dict(metadata or {}), sample, degenerate_reasons(pair.conversation, pair.chosen, pair.rejected))


def degenerate_reasons(conversation: Sequence[Message], answer_1: Sequence[Message],
                       answer_2: Sequence[Message]) -> tuple[str, ...]:
    """Why a comparison is degenerate (identical answers, an empty answer, an empty last user turn), if it is."""
    last_user = next((m["content"] for m in reversed(conversation) if m["role"] == "user"), "")
    checks = ((IDENTICAL, answer_1 == answer_2),
              (EMPTY_ANSWER, any(not m["content"].strip() for m in (*answer_1, *answer_2))),
              (EMPTY_TURN, not last_user.strip()))
    return tuple(reason for reason, found in checks if found)
