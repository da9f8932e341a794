"""The RL reward for verl: +1 for the right verdict, -1 otherwise (the RM-R1 paper's reward).

verl 0.9.1 loads this with ``reward.custom_reward_function.path=pkg://reward_fns.score`` and
``reward.custom_reward_function.name=compute_score``, calls it with keyword arguments only, and logs
every key of the returned dict as a metric. verl indexes metrics by the FIRST sample's keys, so every
call returns the same keys, whatever the input.
"""

from __future__ import annotations

from typing import Any

from reward_fns.verdict import Mode, parse_verdict

# Ground-truth spellings accepted: our own rows use "A"/"B"; upstream RM-R1 parquet uses model_a/model_b.
_GROUND_TRUTH = {"A": "A", "B": "B", "model_a": "A", "model_b": "B"}
SCORE_KEYS: tuple[str, ...] = ("score", "acc", "format_ok", "picked_a")


def expected_label(ground_truth: Any, data_source: Any = None) -> str:
    """Map a row's ground truth to 'A' or 'B'; anything else is a data bug and raises.

    >>> expected_label("model_b")
    'B'
    """
    # Only strings are looked up: a list or dict (unhashable) is the same data bug as an unknown label.
    label = _GROUND_TRUTH.get(ground_truth.strip()) if isinstance(ground_truth, str) else None
    if label is None:
        raise ValueError(
            f"ground truth {ground_truth!r} (data_source={data_source!r}) is not one of "
            f"{sorted(_GROUND_TRUTH)}; fix reward_model.ground_truth in the parquet."
        )
    return label


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    *,
    correct: float = 1.0,
    incorrect: float = -1.0,
    format_failure: float = -1.0,
    mode: Mode = "strict",
    **_: Any,
) -> dict[str, float]:
    """Score one rollout. Reward kwargs from verl's config set the three values and the parse mode.

    ``score`` is ``correct`` for the right verdict, ``incorrect`` for the wrong one and
    ``format_failure`` when no verdict can be read; ``acc`` and ``format_ok`` are 0/1, and
    ``picked_a`` (0/1) lets training curves show position bias.

    >>> compute_score("rm_r1/demo", "<answer>[[B]]</answer>", "B")["score"]
    1.0
    """
    expected = expected_label(ground_truth, data_source)
    parsed = parse_verdict(solution_str, mode)
    right = parsed.label == expected
    if not parsed.ok:
        score = float(format_failure)
    else:
        score = float(correct) if right else float(incorrect)
    return {
        "score": score,
        "acc": float(right),
        "format_ok": float(parsed.ok),
        "picked_a": float(parsed.label == "A"),
    }
