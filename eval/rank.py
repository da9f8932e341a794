"""Rank N candidate answers per prompt with a pairwise judge: knockout or round robin (Bradley-Terry).

    python eval/rank.py --data candidates.jsonl --base-url URL --model NAME --variant instruct
    python eval/rank.py --benchmark rmb --data PATH/TO/RMB_dataset --method round-robin ...
    python eval/rank.py --benchmark rewardbench2 --method knockout --votes 3 --temperature 0.6 ...

Rows of a ``--data`` JSONL: ``id``, ``prompt`` (text or chat messages), ``candidates`` (2 or more
answers, text or messages) and ``best`` (the index of the best one). ``--benchmark rmb`` ranks RMB's
best-of-N items (the best answer and its 2-6 losers) and ``--benchmark rewardbench2`` RewardBench 2's
best-of-4 items (a Ties prompt with several correct answers is left out): both LABELLED as ranking scores,
which are not the official "beat every loser" pairwise rule.

Candidates are placed in a seeded shuffle per prompt, so no rule favours the best's position. A
prompt is correct when the best candidate ranks first (a shared top of t scores 1/t). ``--votes K``
judges each match K times with orders alternated (needs --temperature > 0). Every judgment goes
through the prompt module, the verdict parser and the generation cache of every eval CLI; the report
puts the judge calls and generated tokens beside the accuracy.
Outputs in --out (default outputs/eval/rank/<model>): rank.md and rank.json.
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
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eval import session
from eval.benchmark import Comparison, make_comparison
from eval.cli_common import EvalParser, add_common_args
from eval.errors import EvalError
from eval.ranking import Judge, Ranked, knockout, round_robin
from eval.report_text import pct
from eval.runner import comparison_judgments, run_judgments
from eval.scoring import score_judgments
from eval.voted import generated_tokens
from infra import cli_flags
from infra.cli_errors import run_cli
from infra.row_files import iter_rows

PROG = "python eval/rank.py"
BENCHMARKS = {"rmb": "RMB best-of-N items ranked (a ranking score, not RMB's official BoN rule)",
              "rewardbench2": "RewardBench 2 items with one correct answer ranked (a ranking score, not the "
                              "official rule)"}


@dataclass(frozen=True)
class Prompt:
    """One ranking task: the conversation, the candidates in their shown (shuffled) places, the best one's place."""

    id: str
    group: str
    conversation: Any
    candidates: tuple[Any, ...]
    best: int


def shuffled(pid: str, group: str, conversation: Any, candidates: Sequence[Any], best: int, seed: int) -> Prompt:
    """The prompt with its candidates in a seeded per-prompt shuffle (the best's place moves with it)."""
    places = list(range(len(candidates)))
    random.Random(f"rank:{seed}:{pid}").shuffle(places)
    return Prompt(pid, group, conversation, tuple(candidates[i] for i in places), places.index(best))


def from_file(path: str, seed: int) -> list[Prompt]:
    """Prompts from a ``--data`` JSONL (see the module docstring); a bad row is one sentence naming its line."""
    prompts = []
    for place, row in iter_rows(path):  # an unreadable file or line is one sentence (RowFileError, exit 2)
        candidates, best = row.get("candidates"), row.get("best")
        if not isinstance(row.get("id"), str | int) or not isinstance(row.get("prompt"), str | list) or \
                not isinstance(candidates, list) or len(candidates) < 2 or isinstance(best, bool) or \
                not isinstance(best, int) or not 0 <= best < len(candidates):
            raise EvalError(f"--data {path!r} {place} needs an id, a prompt, 2 or more candidates and best (the "
                            "best candidate's index); fix that row.")
        prompts.append(shuffled(str(row["id"]), "all", row["prompt"], candidates, best, seed))
    return prompts


def from_benchmark(name: str, args: argparse.Namespace) -> tuple[list[Prompt], int]:
    """(prompts, items left out) from a benchmark's best-of-N items: every comparison shares one better answer."""
    benchmark = session.benchmark_named(name)
    data = session.load(benchmark, args.data or benchmark.data_default, None, benchmark.revision, args)
    prompts, left_out = [], 0
    for item in data.items:
        comparisons = list(benchmark.comparisons(data, item))
        better = [c.answer_1 if c.truth == "1" else c.answer_2 for c in comparisons]
        if len(comparisons) < 2 or any(b != better[0] for b in better):  # pairwise, or Ties' several correct
            left_out += 1
            continue
        losers = [c.answer_2 if c.truth == "1" else c.answer_1 for c in comparisons]
        prompts.append(shuffled(item.id, item.subset, comparisons[0].conversation, [better[0], *losers], 0,
                                args.seed))
    return prompts, left_out


def match_comparison(prompt: Prompt, first: int, second: int, sample: int) -> Comparison:
    """The judge request showing candidate ``first`` as A and ``second`` as B (truth '1': A is tag 'A')."""
    conversation = list(prompt.conversation) if not isinstance(prompt.conversation, str) else prompt.conversation
    return make_comparison(prompt.id, f"{prompt.id}:{first}-{second}", conversation, prompt.candidates[first],
                           prompt.candidates[second], sample=sample)


class _Pending(Exception):
    """A match whose judgments are not generated yet (collected, generated in one batch, then replayed)."""


def rank_all(judge_run: session.EvalSession, prompts: Sequence[Prompt], method: str, keys: list[str]
             ) -> list[tuple[Prompt, Ranked]]:
    """Rank every prompt; the match judgments are generated (or read from the cache) in batches across prompts,
    one per bracket step, and their keys added to ``keys``."""
    config, template, votes = judge_run.config, judge_run.prompt.template, judge_run.config.votes
    known: dict[tuple[str, int], str | None] = {}  # (comparison id, sample) -> the label picked (None: no verdict)
    while True:
        wanted: dict[tuple[str, int], Comparison] = {}
        results = []
        for prompt in prompts:
            judge = _judge(prompt, votes, known, wanted, eager=method == "round-robin")
            try:
                ranked = knockout(len(prompt.candidates), judge, votes=votes, seed=config.seed) \
                    if method == "knockout" else round_robin(len(prompt.candidates), judge, votes=votes)
            except _Pending:
                continue
            results.append((prompt, ranked))
        if not wanted:
            return results
        batch = list(wanted.values())
        judgments = comparison_judgments(batch, {c.comparison_id: ("A",) for c in batch}, template,
                                         judge_run.backend.model_id, config.sampling, config.request_options)
        outcomes, _ = run_judgments(judgments, judge_run.backend, judge_run.locked_cache, config.sampling,
                                    prompt_version=template.version, progress=config.progress, benchmark="rank")
        keys.extend(j.key for j in judgments)
        known |= {(c.comparison_id, c.sample): j.verdict(config.parse_mode).label
                  for c, j in zip(batch, score_judgments(judgments, outcomes), strict=True)}


def _judge(prompt: Prompt, votes: int, known: dict[tuple[str, int], str | None],
           wanted: dict[tuple[str, int], Comparison], eager: bool) -> Judge:
    def judge(first: int, second: int, sample: int) -> int | None:
        key = (f"{prompt.id}:{first}-{second}", sample)
        if key in known:
            label = known[key]
            return first if label == "A" else second if label == "B" else None
        base = (first, second) if sample % 2 == 0 else (second, first)  # the match's sample-0 order
        for s in range(votes):  # every sample of the match at once, orders alternated as eval.ranking asks
            shown = base if s % 2 == 0 else (base[1], base[0])
            wanted.setdefault((f"{prompt.id}:{shown[0]}-{shown[1]}", s), match_comparison(prompt, *shown, s))
        if eager:  # round robin: every pair is needed anyway, so ask for them all before waiting
            return None
        raise _Pending

    return judge


def render(rows: Sequence[Mapping[str, Any]], label: str, method: str, votes: int, calls: int, tokens: int,
           left_out: int) -> str:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    lines = [f"# Ranking: {label}", "", f"Method: {method}, {votes} judgment(s) per match (orders alternated); "
             "a prompt scores 1 when its best candidate ranks first (a shared top of t: 1/t).", "",
             "| group | prompts | accuracy |", "|---|---:|---:|"]
    if list(groups) != ["all"]:  # a benchmark's subsets; a --data file has one group
        lines += [f"| {g} | {len(rs)} | {pct(sum(r['score'] for r in rs) / len(rs))} |" for g, rs in groups.items()]
    accuracy = sum(r["score"] for r in rows) / len(rows) if rows else None
    lines += [f"| all (micro) | {len(rows)} | {pct(accuracy)} |", "",
              f"Cost: {calls:,} judge calls, {tokens:,} generated tokens "
              f"({calls / max(1, len(rows)):.1f} calls per prompt)."]
    if left_out:
        lines.append(f"Left out: {left_out} items that are not best-of-N (pairwise items, or several correct answers).")
    return "\n".join(lines) + "\n"


def make_parser() -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("candidates")
    data.add_argument("--data", type=cli_flags.location, help="a candidates JSONL, or the benchmark's local data")
    data.add_argument("--benchmark", choices=sorted(BENCHMARKS), help="rank a benchmark's best-of-N items (labelled)")
    data.add_argument("--method", choices=("knockout", "round-robin"), default="knockout",
                      help="knockout: n-1 matches in a seeded bracket (default); round-robin: every pair, "
                           "Bradley-Terry strengths")
    add_common_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.order != "both":
        raise EvalError("--order does not apply to ranking (each match alternates orders over its --votes); drop it.")
    if args.benchmark is None and args.data is None:
        raise EvalError("rank needs --data (a candidates JSONL) or --benchmark NAME; pass one.")
    judge_run = session.EvalSession(args, tool="eval.rank")
    label = BENCHMARKS[args.benchmark] if args.benchmark else f"--data {os.path.basename(args.data)}"
    prompts, left_out = from_benchmark(args.benchmark, args) if args.benchmark else (from_file(args.data, args.seed), 0)
    if args.limit is not None:
        prompts = prompts[: args.limit]
    if not prompts:
        raise EvalError(f"{label} holds no prompt with 2 or more candidates and one best; pass other data.")
    out = judge_run.out("rank")
    keys: list[str] = []
    with judge_run.opened(out, {out: [f"rank:{args.benchmark or 'file'}:{args.method}"]}, [args.data]):
        ranked = rank_all(judge_run, prompts, args.method, keys)
        tokens = generated_tokens(keys, judge_run.locked_cache.records)
        model = judge_run.backend.model_id
    rows: list[dict[str, Any]] = [  # one prompt's result in rank.json
        {"id": p.id, "group": p.group, "candidates": len(p.candidates), "top": list(r.top), "best": p.best,
         "score": r.top_share(p.best), "calls": r.calls} for p, r in ranked]
    calls = sum(r["calls"] for r in rows)
    result = {"model": model, "label": label, "method": args.method, "votes": args.votes, "calls": calls,
              "tokens": tokens, "accuracy": sum(r["score"] for r in rows) / len(rows), "left_out": left_out,
              "prompts": rows}
    return judge_run.publish(out, "rank", result, render(rows, label, args.method, args.votes, calls, tokens,
                                                         left_out))


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
