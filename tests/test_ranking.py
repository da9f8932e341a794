"""Ranking (eval/ranking.py): exact knockout and round-robin accuracies of scripted judges of known accuracy."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from eval.ranking import Ranked, bradley_terry, knockout, match, round_robin
from testkit.scaling_judges import digit_judge

P = Fraction(3, 4)  # digit_judge's default: every judgment right with probability exactly 3/4


def accuracy(results: list[Ranked], best: int = 0) -> Fraction:
    return sum((Fraction(r.top_share(best)).limit_denominator(1000) for r in results), Fraction(0)) / len(results)


def test_knockout_of_four_is_right_iff_the_best_wins_both_its_matches() -> None:
    slots = 6  # the pairs of 4 candidates; enumerating 4**6 items makes their rightness independent
    for seed in (0, 1):  # any fixed bracket (a seed drawn per item would tie the bracket to the judge's digits)
        results = [knockout(4, digit_judge(item, 4), seed=seed) for item in range(4 ** slots)]
        assert accuracy(results) == P ** 2  # the best plays 2 matches, whoever it meets
    assert {r.calls for r in results} == {3}  # n-1 matches


def test_knockout_votes_per_match_use_the_majority() -> None:
    results = [knockout(2, digit_judge(item, 2, votes=3), votes=3) for item in range(4 ** 3)]
    assert accuracy(results) == P ** 3 + 3 * P ** 2 * (1 - P)  # 2 or 3 of 3 votes right
    assert {r.calls for r in results} == {3}


def test_knockout_with_an_odd_field_still_plays_n_minus_one_matches() -> None:
    assert knockout(5, digit_judge(0, 5)).calls == 4
    assert knockout(7, digit_judge(0, 7), votes=3).calls == 18


def test_round_robin_of_three_counts_a_cycle_as_a_three_way_tie() -> None:
    results = [round_robin(3, digit_judge(item, 3)) for item in range(4 ** 3)]
    # Best wins both: top. Wins one: a cycle (a shared top of 3) iff the other two beat each other the
    # right way round for it: 0>1, 1>2, 2>0 needs pair {1,2} right; 1>0, 0>2, 2>1 needs it wrong.
    expected = P ** 2 + P * (1 - P) * P / 3 + (1 - P) * P * (1 - P) / 3
    assert accuracy(results) == expected == Fraction(5, 8)
    assert {r.calls for r in results} == {3}


def test_bradley_terry_orders_a_transitive_tournament_and_sums_to_n() -> None:
    wins = np.array([[0, 3, 3, 3], [0, 0, 3, 3], [0, 0, 0, 3], [0, 0, 0, 0]], dtype=float)
    strengths = bradley_terry(wins)
    assert list(np.argsort(-strengths)) == [0, 1, 2, 3]
    assert strengths.sum() == pytest.approx(4)
    assert np.all(np.isfinite(strengths))  # the prior keeps an unbeaten candidate finite


def test_bradley_terry_of_equal_records_is_flat() -> None:
    assert np.allclose(bradley_terry(np.array([[0, 2], [2, 0]], dtype=float)), [1, 1])


def test_a_tied_match_goes_to_the_bracket_first() -> None:
    def split(first: int, second: int, sample: int) -> int:
        return first  # always the candidate shown as A: with alternated orders every even match ties
    assert match(split, 5, 2, votes=2) == 5


@pytest.mark.parametrize(("n", "votes"), [(1, 1), (3, 0)])  # one candidate; no votes
def test_bad_sizes_are_refused(n: int, votes: int) -> None:
    with pytest.raises(ValueError):
        knockout(n, digit_judge(0, 3), votes=votes)
