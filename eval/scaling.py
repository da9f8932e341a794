"""Inference-time scaling: benchmark score against judge calls and generated tokens for k votes per comparison.

    python eval/scaling.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant reasoning \\
        --temperature 0.6 --benchmarks rewardbench,judgebench --ks 1,2,4,8

Takes every flag of eval/run_all.py (judge, data, sampling, parse mode) plus ``--ks``. The largest k is
generated once per order policy; every smaller k re-scores the same cached samples (eval/voted.py:
sample s keeps its cache key across k), so the curve costs what its largest point costs. Two curves
per benchmark: ``both`` (orders alternated from each comparison's seeded order; k=1 is one seeded
order) and ``one order`` (every sample in the seeded order). Each point is the benchmark's own
headline under its official rule, the judge calls and the completion tokens the samples cost (0
where the backend does not report them).
Outputs in --out (default outputs/eval/scaling/<model>): scaling.md, scaling.json and scaling.png.
Exit status: 0 done, 1 the run failed (cached samples are kept), 2 a bad flag or input, 130 interrupted.
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from eval import run_all, session
from eval.errors import EvalError
from eval.evaluate import evaluate
from eval.plots import pyplot, save
from eval.report_text import pct, table
from eval.voted import generated_tokens
from infra.atomic_files import write_text_atomic
from infra.cli_errors import run_cli

PROG = "python eval/scaling.py"
POLICIES = {"both": "both orders (alternated)", "random": "one order (seeded)"}


@dataclass(frozen=True)
class Point:
    """One point of a curve: a benchmark's headline with k samples per comparison, and what they cost."""

    benchmark: str
    orders: str
    k: int
    score: float | None
    calls: int
    tokens: int


def ks_flag(text: str) -> list[int]:
    """``--ks 1,2,4,8`` as sorted distinct whole numbers from 1 to 1024."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1 or ks[-1] > 1024:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers from 1 to 1024")
    return ks


def make_parser() -> argparse.ArgumentParser:
    parser = run_all.make_parser()
    parser.prog, parser.description = PROG, __doc__
    parser.add_argument("--ks", type=ks_flag, default=[1, 2, 4, 8], metavar="K,K,...",
                        help="votes per comparison to score (default 1,2,4,8; the largest is generated)")
    return parser


def curve(judge_run: session.EvalSession, loaded: session.Loaded, ks: Sequence[int]) -> list[Point]:
    """Every (benchmark, order policy, k) point, the largest k first so smaller ones are all cache hits."""
    points = []
    for name, (benchmark, data) in loaded.items():
        for policy in POLICIES:
            for k in sorted(ks, reverse=True):
                # k=1 is one judgment in the seeded order: sample 0 of both policies, today's cache key
                config = replace(judge_run.config, order=policy if k > 1 else "random", votes=k)
                result = evaluate(benchmark, data, judge_run.prompt.template, judge_run.backend,
                                  judge_run.locked_cache, config)
                tokens = generated_tokens((j.key for j in result.scored), judge_run.locked_cache.records)
                points.append(Point(name, policy, k, result.headline(config), len(result.scored), tokens))
    return sorted(points, key=lambda p: (list(loaded).index(p.benchmark), list(POLICIES).index(p.orders), p.k))


def render(points: Sequence[Point], model: str) -> str:
    lines = [f"# Score against cost: {model}", "",
             "Each sample is voted per order (a tie goes to the answer voted first); the score is each benchmark's "
             "official headline.", ""]
    lines += table(["benchmark", "orders", "k", "score", "judge calls", "generated tokens"],
                   [[p.benchmark, POLICIES[p.orders], p.k, pct(p.score), f"{p.calls:,}", f"{p.tokens:,}"]
                    for p in points], left=2)
    return "\n".join(lines) + "\n"


def plot(points: Sequence[Point], target: Path) -> Path | None:
    """Score against generated tokens (calls when no token was counted), one line per benchmark and policy."""
    plt = pyplot()
    if plt is None:
        return None
    use_tokens = any(p.tokens for p in points)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for benchmark in dict.fromkeys(p.benchmark for p in points):
        for policy, title in POLICIES.items():
            line = [p for p in points if p.benchmark == benchmark and p.orders == policy]
            xs = [p.tokens if use_tokens else p.calls for p in line]
            ax.plot(xs, [100 * (p.score or 0.0) for p in line], marker="o", linestyle="-" if policy == "both" else "--",
                    label=f"{benchmark}, {title}")
            for p, x in zip(line, xs, strict=True):
                ax.annotate(f"k={p.k}", (x, 100 * (p.score or 0.0)), fontsize=7, textcoords="offset points",
                            xytext=(3, 3))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("generated tokens" if use_tokens else "judge calls")
    ax.set_ylabel("score (%)")
    ax.legend(fontsize=7, frameon=False)
    return save(plt, fig, target)


def run(args: argparse.Namespace) -> int:
    if args.votes != 1:
        raise EvalError("--votes is set by --ks (the largest k is generated); drop --votes.")
    args.votes = args.ks[-1]
    judge_run = session.EvalSession(args, tool="eval.scaling")
    loaded, _ = run_all.load_all(args)
    judge_run.check_prompt(loaded)
    out = judge_run.out("scaling")
    with judge_run.opened(out, {out: list(loaded)}, [value.partition("=")[2] for value in args.data]):
        points = curve(judge_run, loaded, args.ks)
        model = judge_run.backend.model_id
    text = render(points, model)
    write_text_atomic(out / "scaling.json", json.dumps({"model": model, "points": [asdict(p) for p in points]},
                                                       indent=2, allow_nan=False) + "\n")
    write_text_atomic(out / "scaling.md", text)
    if not args.no_plots:
        plot(points, out / "scaling.png")
    print(text, end="")
    print(f"reports in {os.fspath(out)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
