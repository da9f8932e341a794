"""Pointwise judging of a pairwise benchmark: each answer scored 1-10 on its own, the pair decided by the scores.

    python eval/pointwise.py --benchmark rewardbench --base-url URL --model NAME --temperature 0.6 --votes 4

Every answer of every comparison is shown alone with the pointwise template of the prompt module
(``data_prep.prompts.POINTWISE_VERSION``) and its score read by :func:`reward_fns.pointwise.parse_score`
(strict and lenient reported, ``--parse-mode`` for the headline). A comparison is won when the better
answer's score is higher; equal scores are a tie (half a point, and counted); a missing score scores
``--parse-failure-score``. With ``--votes K`` each answer is scored K times and the scores are summed
over the samples where both answers were scored (eval/voting.py). The accuracy is the MICRO mean over
comparisons (labelled: not the benchmark's official aggregation). Cost: judge calls and generated tokens.
Outputs in --out (default outputs/eval/pointwise/<model>): pointwise.md and pointwise.json.
Exit status: 0 done, 1 the run failed (cached results are kept), 2 a bad flag or input, 130 interrupted.
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
from collections.abc import Mapping, Sequence
from typing import Any

from data_prep.prompts import POINTWISE_VERSION, render_pointwise_prompt
from eval import session
from eval.cache import RequestKeyer
from eval.cli_common import EvalParser, add_common_args
from eval.errors import EvalError
from eval.report_text import pct
from eval.runner import Judgment, Outcome, run_judgments
from eval.voted import generated_tokens
from eval.voting import TIE_SCORE, pointwise_votes
from infra import cli_flags
from infra.cli_errors import run_cli
from reward_fns.pointwise import parse_score
from reward_fns.verdict import MODES, Mode

PROG = "python eval/pointwise.py"


def make_parser() -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("benchmark")
    data.add_argument("--benchmark", choices=session.NAMES, required=True, help="the pairwise benchmark to score")
    data.add_argument("--data", type=cli_flags.location, help="its local file or folder (default: its hub copy)")
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.order != "both":
        raise EvalError("--order does not apply to pointwise judging (each answer is shown alone); drop it.")
    judge_run = session.EvalSession(args, tool="eval.pointwise")
    benchmark = session.benchmark_named(args.benchmark)
    data = session.load(benchmark, args.data or benchmark.data_default, None, benchmark.revision, args)
    config, model = judge_run.config, judge_run.backend.model_id
    keyer = RequestKeyer(POINTWISE_VERSION, model, config.sampling.cache_fields(), config.request_options)
    judgments: list[Judgment] = []
    truths: dict[str, str] = {}
    for item in data.items:
        for c in benchmark.comparisons(data, item):
            truths[c.comparison_id] = c.truth
            for s in range(args.votes):  # sample 0 of an answer keeps one key across runs; s > 0 adds to it
                for tag, answer in (("1", c.answer_1), ("2", c.answer_2)):
                    messages = render_pointwise_prompt(c.conversation, answer)
                    key = keyer.key(messages, sample=s)
                    judgments.append(Judgment(c.comparison_id, tag, key, messages))
    out = judge_run.out("pointwise")
    with judge_run.opened(out, {out: [f"pointwise:{args.benchmark}"]}, [args.data]):
        outcomes, stats = run_judgments(judgments, judge_run.backend, judge_run.locked_cache, config.sampling,
                                        prompt_version=POINTWISE_VERSION, progress=config.progress,
                                        benchmark=f"pointwise:{args.benchmark}")
        tokens = generated_tokens((j.key for j in judgments), judge_run.locked_cache.records)
    result = {"model": model, "benchmark": args.benchmark, "prompt_version": POINTWISE_VERSION, "votes": args.votes,
              "average": "micro mean over comparisons (not the benchmark's official aggregation)",
              "parse_mode": args.parse_mode, "calls": len({j.key for j in judgments}), "tokens": tokens,
              "modes": {mode: _accuracy(judgments, outcomes, mode, truths, config.failure_score) for mode in MODES}}
    return judge_run.publish(out, "pointwise", result, _render(result),
                             f" ({stats.generated} generated, {stats.cache_hits} cached)")


def _accuracy(judgments: Sequence[Judgment], outcomes: Mapping[str, Outcome], mode: Mode, truths: Mapping[str, str],
              failure: float) -> dict[str, Any]:
    """Each comparison decided by its answers' scores (per sample, in sample order), every outcome counted."""
    per: dict[str, dict[str, list[int | None]]] = {}  # comparison id -> answer ("1"/"2") -> its scores
    for j in judgments:
        score = None if (text := outcomes[j.key].text) is None else parse_score(text, mode).score
        per.setdefault(j.item_id, {}).setdefault(j.tag, []).append(score)
    counts = {"wins": 0, "ties": 0, "losses": 0, "failures": 0}
    points = 0.0
    for cid, answers in per.items():
        vote = pointwise_votes(list(zip(answers["1"], answers["2"], strict=True)))
        outcome = "failures" if not vote.valid else "ties" if vote.winner is None else \
            "wins" if vote.winner == truths[cid] else "losses"
        counts[outcome] += 1
        points += vote.score(truths[cid], failure)
    return {**counts, "comparisons": len(per), "accuracy": points / len(per) if per else None}


def _render(result: Mapping[str, Any]) -> str:
    modes = result["modes"]
    lines = [f"# Pointwise judging: {result['benchmark']}", "",
             f"Judge `{result['model']}`, prompt {result['prompt_version']}, {result['votes']} sample(s) per answer; "
             f"accuracy is the {result['average']}; a tie counts {TIE_SCORE:g}.", "",
             "| parse | accuracy | wins | ties | losses | failures |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {mode} | {pct(m['accuracy'])} | {m['wins']} | {m['ties']} | {m['losses']} | {m['failures']} |"
              for mode, m in modes.items()]
    lines += ["", f"Cost: {result['calls']:,} judge calls, {result['tokens']:,} generated tokens."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
