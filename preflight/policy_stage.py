"""Preflight stage for the judge as a policy reward: a scripted rollout batch through verl's reward loop.

The loopback judge on 127.0.0.1 is reached through ``reward_router_address`` as verl's judge servers
are; the four rollouts (better than the reference, worse, one planting a verdict, one master key) must
score +1/-1/-1/-1, and the trainer hook's step metrics must flag the planted verdict and the master key.
"""

from __future__ import annotations

from pathlib import Path

from testkit.tiny_model import ensure_tiny_model

EXPECTED_SCORES = [1.0, -1.0, -1.0, -1.0]
EXPECTED_METRICS = {"judge/agreement": 1.0, "judge/parse_fail_rate": 0.0, "judge/verdict_share": 0.25,
                    "judge/master_key_share": 0.25}


def run_stage(work_dir: Path) -> str:
    """Score the demo batch with the judge reward; check every score and the monitor's flags."""
    from testkit.judge_reward_demo import score_demo_batch  # imports verl's trainer: only when the stage runs

    result = score_demo_batch(str(ensure_tiny_model(work_dir / "tiny_model")))
    scores, metrics = result["rewards"]["score"], result["monitor"]
    if scores != EXPECTED_SCORES:
        raise RuntimeError(f"judge reward scored {scores}, expected {EXPECTED_SCORES} for {result['rollouts']}")
    if wrong := {k: metrics.get(k) for k, v in EXPECTED_METRICS.items() if metrics.get(k) != v}:
        raise RuntimeError(f"monitor metrics {wrong} differ from {EXPECTED_METRICS}")
    shown = ", ".join(f"{k.removeprefix('judge/')} {metrics[k]:g}" for k in (*EXPECTED_METRICS, "judge/length_drift"))
    return (f"{len(scores)} policy rollouts judged against the reference in both orders via the loopback judge: "
            f"scores {' '.join(f'{s:+.0f}' for s in scores)}; step metrics {shown}")
