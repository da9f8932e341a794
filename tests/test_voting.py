"""Vote aggregation (eval/voting.py): the rules, ties, and exact accuracies of scripted judges of known accuracy."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.voting import TIE_SCORE, majority, pointwise_votes
from testkit.scaling_judges import digit_right
from testkit.voting_curves import Sample, consistent_majority, pointwise_accuracy, scaling_curve

BASE, RIGHT = 4, 3  # every scripted judgment is right with probability exactly 3/4
P = Fraction(RIGHT, BASE)

# (votes, winner, margin, valid, score when the truth is "1")
MAJORITY_TABLE = [
    (["1"], "1", 1, 1, 1.0),  # one vote decides
    (["1", "2", "1"], "1", 1, 3, 1.0),  # 2 to 1
    (["2", "2", "1", None], "2", 1, 3, 0.0),  # a wrong majority; the failure is not counted
    (["1", "2"], None, 0, 2, TIE_SCORE),  # a tie between valid votes: half a point
    (["1", "2", None, None], None, 0, 2, TIE_SCORE),  # failures do not break a tie
    ([None, None], None, 0, 0, 0.0),  # no valid vote: the parse-failure score (0 here)
    ([], None, 0, 0, 0.0),  # nothing judged
    (["1", "1", "1", "2"], "1", 2, 4, 1.0),  # the margin is the lead in votes
]


@pytest.mark.parametrize(("votes", "winner", "margin", "valid", "score"), MAJORITY_TABLE)
def test_majority_table(votes: list[str | None], winner: str | None, margin: int, valid: int, score: float) -> None:
    outcome = majority(votes)
    assert (outcome.winner, outcome.margin, outcome.valid) == (winner, margin, valid)
    assert outcome.score("1") == score


def test_no_valid_vote_scores_the_failure_score() -> None:
    assert majority([None]).score("1", failure_score=0.5) == 0.5  # k=1 with a failure scores as without voting


# (votes in order A, votes in order B, consistent winner, score when the truth is "1")
CONSISTENT_TABLE = [
    (["1"], ["1"], "1", 1.0),  # both orders agree
    (["1", "1", "2"], ["1"], "1", 1.0),  # each order's own majority agrees
    (["1"], ["2"], None, 0.0),  # the orders disagree: no winner, never half a point
    (["1", "2"], ["1"], None, 0.0),  # a tie inside one order is no majority there
    ([None], [None], None, 0.0),  # nothing valid: the failure score
]


@pytest.mark.parametrize(("order_a", "order_b", "winner", "score"), CONSISTENT_TABLE)
def test_consistent_majority_table(order_a: list[str | None], order_b: list[str | None], winner: str | None,
                                   score: float) -> None:
    outcome = consistent_majority({"A": order_a, "B": order_b})
    assert outcome.winner == winner
    assert outcome.score("1") == score


# (per sample: (answer 1's score, answer 2's score), winner, margin)
POINTWISE_TABLE = [
    ([(8, 5)], "1", 3),  # one sample
    ([(8, 5), (2, 6)], "2", 1),  # sums, not majorities: 10 vs 11
    ([(7, 3), (None, 3), (4, 6)], "1", 2),  # a sample missing a score is left out: 11 vs 9
    ([(5, 5)], None, 0),  # equal sums tie
    ([(None, 5)], None, 0),  # nothing scored on both sides: a failure
]


@pytest.mark.parametrize(("samples", "winner", "margin"), POINTWISE_TABLE)
def test_pointwise_votes_sum_scores(samples: list[tuple[int | None, int | None]], winner: str | None,
                                    margin: int) -> None:
    outcome = pointwise_votes(samples)
    assert (outcome.winner, outcome.margin) == (winner, margin)


@given(st.lists(st.tuples(st.none() | st.integers(1, 10), st.none() | st.integers(1, 10)), min_size=1, max_size=1))
def test_one_pointwise_vote_scores_as_pointwise_accuracy(samples: list[tuple[int | None, int | None]]) -> None:
    assert pointwise_votes(samples).score("1", 0.0) == pointwise_accuracy(samples).accuracy


def test_pointwise_accuracy_counts_ties_and_failures() -> None:
    result = pointwise_accuracy([(9, 3), (4, 4), (2, 7), (None, 5), (6, 5)])
    assert (result.wins, result.ties, result.losses, result.failures) == (2, 1, 1, 1)
    assert result.accuracy == pytest.approx((2 + 0.5) / 5)
    assert pointwise_accuracy([(None, 5)], failure_score=0.5).accuracy == 0.5
    assert pointwise_accuracy([]).accuracy is None


@given(st.lists(st.sampled_from(["1", "2", None]), max_size=12))
def test_majority_properties(votes: list[str | None]) -> None:
    outcome = majority(votes)
    ones, twos = votes.count("1"), votes.count("2")
    assert outcome.valid == ones + twos and outcome.margin == abs(ones - twos)
    assert outcome.winner == ("1" if ones > twos else "2" if twos > ones else None)
    assert majority(list(reversed(votes))) == outcome  # the order of the samples never matters


def binomial_majority(k: int, p: Fraction) -> Fraction:
    """P(the right answer wins a majority of k independent votes, right w.p. p), a tie counting half."""
    total = Fraction(0)
    for right in range(k + 1):
        weight = comb(k, right) * p ** right * (1 - p) ** (k - right)
        total += weight if 2 * right > k else weight / 2 if 2 * right == k else 0
    return total


def strict_majority(k: int, p: Fraction) -> Fraction:
    return sum((comb(k, r) * p ** r * (1 - p) ** (k - r) for r in range(k + 1) if 2 * r > k), Fraction(0))


def digit_samples(k_max: int) -> dict[str, list[Sample]]:
    """Comparison n's sample s is right iff digit s of n (base 4) is below 3; orders alternate; sample s costs s+1."""
    return {str(n): [Sample("1" if digit_right(n, s, BASE, RIGHT) else "2", "AB"[s % 2], s + 1)
                     for s in range(k_max)] for n in range(BASE ** k_max)}


def test_scaling_curve_matches_the_binomial_majority_exactly() -> None:
    samples = digit_samples(4)
    truths = dict.fromkeys(samples, "1")
    curve = scaling_curve(samples, truths, [1, 2, 3, 4])
    expected = [binomial_majority(k, P) for k in (1, 2, 3, 4)]
    assert [Fraction(point.accuracy).limit_denominator(10**6) for point in curve] == expected
    assert [float(e) for e in expected] == [0.75, 0.75, 0.84375, 0.84375]  # an even k adds nothing under half-ties
    assert [point.calls for point in curve] == [k * 256 for k in (1, 2, 3, 4)]
    assert [point.tokens for point in curve] == [256 * k * (k + 1) // 2 for k in (1, 2, 3, 4)]


def test_consistent_curve_needs_each_orders_majority() -> None:
    samples = digit_samples(4)
    curve = scaling_curve(samples, dict.fromkeys(samples, "1"), [2, 4], consistent=True)
    # k=2: one vote per order, both right. k=4: two votes per order, both right in each (a 1-1 split is no majority).
    expected = [strict_majority(1, P) ** 2, strict_majority(2, P) ** 2]
    assert [Fraction(point.accuracy).limit_denominator(10**6) for point in curve] == expected


def test_curve_refuses_a_k_beyond_the_samples() -> None:
    with pytest.raises(ValueError, match="fewer than k=3"):
        scaling_curve({"c": [Sample("1", "A")] * 2}, {"c": "1"}, [3])


# (votes, decided winner)
DECIDED_TABLE = [
    (["2", "1"], "2"),  # a tie goes to the answer voted first
    ([None, "1", "2"], "1"),  # failures are not votes
    (["2", "1", "1"], "1"),  # a majority needs no tie rule
    ([None], None),  # no valid vote
]


@pytest.mark.parametrize(("votes", "winner"), DECIDED_TABLE)
def test_decided_majority(votes: list[str | None], winner: str | None) -> None:
    from eval.voting import decided

    assert decided(votes) == winner
