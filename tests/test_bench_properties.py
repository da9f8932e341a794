"""Properties (hypothesis) of the rules: RM-Bench triangles, upstream's mix-up, best-of-N, shared top, net of orders."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eval.benchmarks.comparisons import every_order, order_rule
from eval.benchmarks.judgebench import net_rule
from eval.benchmarks.rewardbench2 import shared_top
from eval.benchmarks.rmbench import triangle_scores, upstream_mixup

cells = st.floats(min_value=0, max_value=1, allow_nan=False)
matrices = st.lists(st.lists(cells, min_size=3, max_size=3), min_size=3, max_size=3)
pick = st.sampled_from([True, False, None])
both_orders = st.fixed_dictionaries({"A": pick, "B": pick})
items = st.lists(both_orders, min_size=1, max_size=6)


@given(matrices)
def test_domain_score_is_the_mean_of_hard_normal_and_easy(matrix: list[list[float]]) -> None:
    t = triangle_scores(matrix)
    assert abs(t["score"] - (t["hard"] + t["normal"] + t["easy"]) / 3) < 1e-12  # 3 cells each


@given(matrices)
def test_upstream_mixup_moves_one_easy_cell_into_hard_and_keeps_the_diagonal(matrix: list[list[float]]) -> None:
    mixed = upstream_mixup(matrix)
    assert [mixed[i][i] for i in range(3)] == [matrix[i][i] for i in range(3)]
    assert abs(triangle_scores(mixed)["hard"] - (2 * matrix[0][2] + matrix[1][0]) / 3) < 1e-12


@given(items)
def test_best_of_n_counts_only_if_every_comparison_is_won_in_every_order(judged: list[dict]) -> None:
    won = every_order(judged)
    assert won == float(all(p["A"] is True and p["B"] is True for p in judged))
    assert won <= order_rule("chosen_as_A", judged, every_order)  # one order alone is never stricter


@given(items)
def test_shared_top_is_one_over_ties_plus_one_without_a_loss(judged: list[dict]) -> None:
    score = shared_top(judged)
    wins = [sum(p[o] is True for o in "AB") for p in judged]
    expected = 0.0 if 0 in wins else 1 / (1 + sum(w == 1 for w in wins))
    assert score == expected and (score == 1.0) == (every_order(judged) == 1.0)


@given(both_orders)
def test_net_rule_is_order_symmetric_and_an_inconsistent_pair_is_not_correct(picks: dict) -> None:
    swapped = {"A": picks["B"], "B": picks["A"]}
    assert net_rule([picks]) == net_rule([swapped])
    if {picks["A"], picks["B"]} == {True, False}:
        assert net_rule([picks]) == 0.0
