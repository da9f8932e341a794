"""compute_score: the reward values, its configuration and its failure on impossible labels."""

from __future__ import annotations

import pickle

import pytest

from reward_fns import SCORE_KEYS, compute_score, format_verdict

A, B = format_verdict("A"), format_verdict("B")

# (case id, response, ground truth, reward kwargs, expected score, acc, format_ok)
CASES = [
    ("right_A", A, "A", {}, 1.0, 1.0, 1.0),  # the paper's +1
    ("wrong_A", A, "B", {}, -1.0, 0.0, 1.0),  # the paper's -1
    ("upstream_label", B, "model_b", {}, 1.0, 1.0, 1.0),  # RM-R1's own parquet labels
    ("padded_label", B, " B\n", {}, 1.0, 1.0, 1.0),  # whitespace around the label is a writer quirk, not a bug
    ("format_fail_default", "no verdict", "A", {}, -1.0, 0.0, 0.0),  # paper: any failure is -1
    ("format_fail_custom", "no verdict", "A", {"format_failure": -2.0}, -2.0, 0.0, 0.0),  # separate value
    ("custom_values", A, "B", {"correct": 2, "incorrect": 0}, 0.0, 0.0, 1.0),  # both values configurable
    ("lenient_mode", A + " trailing", "A", {"mode": "lenient"}, 1.0, 1.0, 1.0),  # mode is a reward kwarg
    ("strict_default", A + " trailing", "A", {}, -1.0, 0.0, 0.0),  # strict unless told otherwise
    ("unknown_kwarg", A, "A", {"some_future_key": 1}, 1.0, 1.0, 1.0),  # verl may pass extra kwargs
]


@pytest.mark.parametrize(
    ("text", "gt", "kwargs", "score", "acc", "ok"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_compute_score_table(text: str, gt: str, kwargs: dict, score: float, acc: float, ok: float) -> None:
    out = compute_score(data_source="rm_r1/test", solution_str=text, ground_truth=gt, extra_info={}, **kwargs)
    assert tuple(out) == SCORE_KEYS
    assert (out["score"], out["acc"], out["format_ok"]) == (score, acc, ok)
    assert all(isinstance(v, float) for v in out.values())


# Issue 12, item 8: unhashable values (a list or dict from a malformed parquet row) are the same data
# bug as an unknown label, so they get the documented ValueError, not a TypeError from a dict lookup.
@pytest.mark.parametrize("bad", ["C", "", "tie", None, 1, ["A"], {"label": "A"}, {"A"}, b"A", 1.5])
def test_impossible_ground_truth_names_value_and_source(bad: object) -> None:
    with pytest.raises(ValueError) as err:
        compute_score(data_source="rm_r1/skywork", solution_str=A, ground_truth=bad)  # type: ignore[arg-type]
    assert repr(bad) in str(err.value) and "rm_r1/skywork" in str(err.value)


def test_picked_a_tracks_position_bias() -> None:
    assert compute_score(data_source="s", solution_str=A, ground_truth="B")["picked_a"] == 1.0
    assert compute_score(data_source="s", solution_str=B, ground_truth="B")["picked_a"] == 0.0


def test_pickle_round_trip() -> None:
    """verl ships the reward function to Ray workers by pickling it."""
    fn = pickle.loads(pickle.dumps(compute_score))
    assert fn(data_source="s", solution_str=B, ground_truth="B") == compute_score(
        data_source="s", solution_str=B, ground_truth="B"
    )
