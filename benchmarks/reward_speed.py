"""Reward speed: parse throughput, linear scaling on adversarial input, and verl's reward manager.

    python benchmarks/reward_speed.py            # full run (~1 minute)
    python benchmarks/reward_speed.py --json out.json

Prints three numbers (targets from the foundation issue):
1. strict parse calls/s on realistic ~32 KB judge rollouts, one core      (target >= 50,000/s);
   half reasoning-model shape (long <think> block, short answer), half instruct shape (32 KB CoR)
2. worst time ratio 1 MB / 100 KB over a defined adversarial set         (target <= 12, i.e. linear)
3. rollouts/s through verl's RewardLoopWorker + NaiveRewardManager, including detokenisation of
   8K-token responses with the tiny test tokenizer
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable

from reward_fns import format_verdict, parse_verdict

WORDS = (
    "the answer chatbot client response rubric weight accuracy because step first then result correct wrong "
    "quote summary evidence helpful harmless concise detailed however therefore misses handles edge case "
    "think like make key task check work look back know"  # common words with k: realistic letter mix
).split()


def realistic_rollout(rng: random.Random, size: int = 32_000) -> str:
    """A judgment of ~size chars in one of the two shapes our models write, chosen 50/50.

    Reasoning models (R1-Distill): a long thinking block (the chat template opened <think>), then
    </think> and a short final answer with the verdict. Instruct models: a full Chain-of-Rubrics with
    quoted evidence and no thinking block; 32 KB is their long tail and the parser's worst case
    (no </think> to stop the backward scan early)."""
    label = rng.choice("AB")

    def prose(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n // 7))

    if rng.random() < 0.5:
        answer = f"<type>Chat</type>\n<eval>{prose(1500)}</eval>\n"
        return prose(size - len(answer) - 40) + "\n</think>\n\n" + answer + format_verdict(label) + "\n"
    parts = [
        "<type>Chat</type>\n<rubric>\n1. Accuracy (40%)\n2. Helpfulness (30%)\n</rubric>\n",
        "<justify>" + prose(600) + "</justify>\n<eval>\n",
    ]
    while sum(map(len, parts)) < size - 200:
        side = rng.choice("AB")
        parts.append(f"<quote_{side}>{prose(300)}</quote_{side}>\n<summary_{side}>{prose(200)}</summary_{side}>\n")
    parts.append("</eval>\n" + format_verdict(label) + "\n")
    return "".join(parts)


# Each builder makes a text of about n chars designed to stress one part of the parser.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "bracket_flood": lambda n: "[[" * (n // 2),
    "mark_flood": lambda n: "[[A]]" * (n // 5),
    "tag_flood": lambda n: "<answer>" * (n // 8),
    "verdict_flood": lambda n: format_verdict("A") * (n // 22),
    "lookalike_flood": lambda n: "［［А］］" * (n // 6),
    "open_then_spaces": lambda n: "<" + " " * n + "answer>",
    "unclosed_think": lambda n: "<think>" + "[[B]] " * (n // 6),
    "think_flood": lambda n: "</think>" * (n // 8) + format_verdict("B"),
    "plain_then_verdict": lambda n: "x" * n + format_verdict("A"),
    "truncated_tail": lambda n: "y" * n + "<answer>[[A]]</ans",
}


def bench_parse(n_texts: int, seconds: float, windows: int = 10) -> tuple[float, float]:
    """(best, median) strict parse calls/s over ``windows`` equal slices of ``seconds``.

    Best-of windows is the machine's capability; the median shows how much other load interfered."""
    rng = random.Random(0)
    texts = [realistic_rollout(rng) for _ in range(n_texts)]
    assert all(parse_verdict(t).ok for t in texts), "benchmark rollouts must be valid"
    rates = []
    for _ in range(windows):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / windows:
            for t in texts:
                parse_verdict(t)
            calls += len(texts)
        rates.append(calls / (time.perf_counter() - start))
    rates.sort()
    return rates[-1], rates[len(rates) // 2]


def _time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_adversarial() -> dict[str, float]:
    """Ratio of best-of-N time at 1 MB to 100 KB per case, both strict and lenient."""
    ratios = {}
    for name, build in ADVERSARIAL.items():
        small, large = build(100_000), build(1_000_000)
        for mode in ("strict", "lenient"):
            t_small = _time(lambda s=small, m=mode: parse_verdict(s, m), 15)
            t_large = _time(lambda s=large, m=mode: parse_verdict(s, m), 7)
            ratios[f"{name}/{mode}"] = t_large / t_small
    return ratios


def bench_verl(n_rollouts: int, response_tokens: int) -> tuple[float, float]:
    """(rollouts/s, mean response tokens) through verl's own reward worker on CPU."""
    from testkit.tiny_model import build_tiny_model
    from testkit.verl_reward import Rollout, VerlRewardScorer, build_batch, compose_reward_config

    with tempfile.TemporaryDirectory() as tmp:
        scorer = VerlRewardScorer(compose_reward_config(str(build_tiny_model(f"{tmp}/m"))))
        rng = random.Random(1)
        rollouts = []
        for i in range(n_rollouts):
            text = realistic_rollout(rng, size=response_tokens * 3)
            ids = scorer.tokenizer.encode(text, add_special_tokens=False)[-(response_tokens - 16) :]
            body = scorer.tokenizer.decode(ids)
            body = body[: body.rfind("<answer>")] if "<answer>" in body else body
            prompt = [{"role": "user", "content": f"question {i}"}]
            rollouts.append(Rollout(prompt, body + format_verdict("A"), rng.choice("AB")))
        batch = build_batch(scorer.tokenizer, rollouts)
        tokens = float(batch.batch["attention_mask"][:, batch.batch["prompts"].shape[1] :].sum(1).float().mean())
        scorer.score(batch[:2])  # warm the worker's thread pool
        elapsed = _time(lambda: scorer.score(batch), 3)
    return n_rollouts / elapsed, tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent measuring parse throughput")
    parser.add_argument("--rollouts", type=int, default=64, help="rollouts in the verl reward-manager batch")
    parser.add_argument("--response-tokens", type=int, default=8192, help="tokens per response in that batch")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON (to compare runs)")
    args = parser.parse_args(argv)

    parse_rate, parse_median = bench_parse(64, args.seconds)
    print(
        f"parse (strict, ~32 KB rollouts, 1 core): {parse_rate:,.0f} calls/s best of 10 windows "
        f"(median {parse_median:,.0f})   target >= 50,000"
    )
    ratios = bench_adversarial()
    worst = max(ratios, key=ratios.get)
    for name, r in sorted(ratios.items()):
        print(f"  adversarial {name:<28} 1MB/100KB = {r:5.1f}")
    print(f"adversarial worst ratio: {ratios[worst]:.1f} ({worst})   target <= 12")
    rate, tokens = bench_verl(args.rollouts, args.response_tokens)
    print(f"verl NaiveRewardManager: {rate:,.1f} rollouts/s at {tokens:,.0f} response tokens (incl. detokenisation)")
    result = {
        "parse_calls_per_s": parse_rate,
        "parse_calls_per_s_median": parse_median,
        "adversarial_worst_ratio": ratios[worst],
        "adversarial_ratios": ratios,
        "verl_rollouts_per_s": rate,
        "verl_response_tokens": tokens,
        "python": sys.version.split()[0],
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
