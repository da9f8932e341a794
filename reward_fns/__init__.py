"""The verdict contract and verl reward for reasoning reward models.

Import-light on purpose: every Ray reward worker on every node imports this package. The trained judge
as a policy reward (``judge_reward``, ``judge_group``, ``judge_monitor``, ``judge_cache``) is loaded by verl
by path and is not imported here.
"""

from reward_fns.score import SCORE_KEYS, compute_score, expected_label
from reward_fns.verdict import (
    LABELS,
    VERDICT_FORMAT_VERSION,
    Failure,
    ParsedVerdict,
    format_verdict,
    parse_verdict,
)

__all__ = [
    "LABELS",
    "SCORE_KEYS",
    "VERDICT_FORMAT_VERSION",
    "Failure",
    "ParsedVerdict",
    "compute_score",
    "expected_label",
    "format_verdict",
    "parse_verdict",
]
