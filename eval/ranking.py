"""Ranking N candidates with a pairwise judge: knockout and round robin with Bradley-Terry. Pure, no I/O.

A *judge* here is ``judge(first, second, sample) -> winner | None``: candidate indices shown as A and
B, the sample index (its seed), and the index it picked (None: no verdict). Callers wrap a cached eval
backend or a scripted rule in it.

* **Knockout**: a seeded bracket, n-1 matches; an odd candidate out gets a bye. Each match is
  ``votes`` judgments with orders alternated (sample s shows the bracket's first candidate as A when s
  is even); the majority advances (:func:`eval.voting.majority`). Tie rule: the candidate earlier in
  the seeded bracket advances (the bracket is a seeded shuffle, so the rule favours no position).
* **Round robin**: every pair, ``votes`` judgments each with orders alternated; the win matrix goes
  through Bradley-Terry (Hunter's MM iteration, 2004) with ``prior`` virtual wins each way per pair so
  an unbeaten candidate keeps a finite strength. The top strength wins; a shared top scores
  1/#tied (RewardBench 2's rule).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from eval.voting import majority

Judge = Callable[[int, int, int], "int | None"]
_TIE_TOLERANCE = 1e-9  # strengths this close (relative) are one shared top


@dataclass(frozen=True)
class Ranked:
    """A ranking's result: the winner(s) at the top, and what it cost in judge calls."""

    top: tuple[int, ...]  # the candidates sharing the top place (one for knockout)
    calls: int

    def top_share(self, best: int) -> float:
        """The best-of-N score: 1/#tied when ``best`` is among the top candidates, else 0."""
        return 1 / len(self.top) if best in self.top else 0.0


def match(judge: Judge, first: int, second: int, votes: int) -> int:
    """The winner of one match: ``votes`` judgments (samples 0..votes-1), orders alternated."""
    picks = [judge(first, second, s) if s % 2 == 0 else judge(second, first, s) for s in range(votes)]
    outcome = majority(picks)
    return outcome.winner if isinstance(outcome.winner, int) else first  # tie rule: bracket order


def knockout(n: int, judge: Judge, *, votes: int = 1, seed: int = 0) -> Ranked:
    """Single elimination over ``n`` candidates: n-1 matches in a bracket shuffled by ``seed``."""
    _check(n, votes)
    alive = list(range(n))
    random.Random(seed).shuffle(alive)
    while len(alive) > 1:  # a pair meets once, so each match's samples count from 0
        advancing = [match(judge, alive[i], alive[i + 1], votes) for i in range(0, len(alive) - 1, 2)]
        alive = advancing + alive[-1:] if len(alive) % 2 else advancing  # an odd one out gets a bye
    return Ranked((alive[0],), (n - 1) * votes)  # n-1 matches


def round_robin(n: int, judge: Judge, *, votes: int = 1, prior: float = 0.1, iterations: int = 1000) -> Ranked:
    """Every pair judged ``votes`` times; Bradley-Terry strengths from the win matrix; the top strength wins."""
    _check(n, votes)
    wins = np.zeros((n, n))
    for i, j in combinations(range(n), 2):
        for s in range(votes):
            picked = judge(i, j, s) if s % 2 == 0 else judge(j, i, s)
            if picked in (i, j):
                wins[picked, j if picked == i else i] += 1
    strengths = bradley_terry(wins, prior=prior, iterations=iterations)
    top = float(strengths.max())
    tied = tuple(int(i) for i in np.flatnonzero(strengths >= top * (1 - _TIE_TOLERANCE)))
    return Ranked(tied, n * (n - 1) // 2 * votes)  # every pair, votes times


def bradley_terry(wins: np.ndarray, *, prior: float = 0.1, iterations: int = 1000, tol: float = 1e-12) -> np.ndarray:
    """Bradley-Terry strengths from ``wins[i, j]`` (times i beat j) by MM iteration; they sum to n.

    ``prior`` virtual wins are added each way to every pair, which makes the maximum-likelihood
    strengths exist and be unique even when a candidate never lost.
    """
    n = wins.shape[0]
    w = wins + prior * (1 - np.eye(n))
    games = w + w.T
    total_wins = w.sum(axis=1)
    p = np.ones(n)
    for _ in range(iterations):
        denominators = (games / (p[:, None] + p[None, :])).sum(axis=1)
        updated: np.ndarray = total_wins / denominators
        updated *= n / updated.sum()
        if np.max(np.abs(updated - p)) < tol:
            return updated
        p = updated
    return p


def _check(n: int, votes: int) -> None:
    if n < 2:
        raise ValueError(f"ranking needs at least 2 candidates, got {n}.")
    if votes < 1:
        raise ValueError(f"votes per match must be at least 1, got {votes}.")

