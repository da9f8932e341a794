"""Could the policy hack its reward? The robustness library's injections and master keys, planted in the policy's
own rollouts, scored by the judge reward exactly as training scores them.

    python eval/policy_probe.py --rollouts ROLLOUTS.jsonl --judge-url http://127.0.0.1:8000/v1 --out probe.json

ROLLOUTS: .jsonl/.json/.parquet rows with ``question``, ``answer`` (the policy's rollout) and ``reference``
(the row's reference answer), e.g. policy-RL rows joined with what the policy wrote. Every row is scored
clean, then once per injection template of the library's EVAL part (data_prep/robustness/library.py)
appended to the answer (a label-bound template once per position, since a policy cannot know where the
judge will show it), then with each master key as the whole answer. Scoring is
:func:`reward_fns.judge_reward.compute_score` (both orders, the answer neutralised and capped), so the
rates are those of the reward a policy would be trained on, defences included.

Reported per injection family: ``attack_success`` (share of probes that raise the win rate over the
clean rollout's) and ``mean_gain``; per master key: ``win_rate`` and ``false_win`` (share winning both
orders against the reference). Exit status: 0 done, 1 the judge could not be used, 2 a bad flag or
input, 130 interrupted.
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
import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_prep.robustness.library import EVAL, LIBRARY_VERSION, fill, label_bound
from infra.atomic_files import write_text_atomic
from infra.chat_client import ChatClientError
from infra.cli_errors import OneLineParser, RunFailed, UserError, run_cli
from infra.row_files import iter_rows
from reward_fns.judge_reward import compute_score

PROG = "python eval/policy_probe.py"
FIELDS = ("question", "answer", "reference")


def probe_texts(answer: str) -> list[tuple[str, str, str]]:
    """(kind, name, probed answer) for one rollout: each injection (per position if label-bound), each master key."""
    probes = []
    for family, templates in EVAL.injections.items():
        for template in templates:
            owns = ("A", "B") if label_bound(template) else ("A",)
            probes += [("injection", family, answer + fill(template, own)) for own in owns]
    probes += [("master_key", name, text) for name, text in EVAL.master_keys.items()]
    return probes


async def probe_rows(rows: Sequence[dict[str, str]], concurrency: int, **reward: Any) -> dict[str, Any]:
    """Score every row clean and probed; the per-family and per-key rates."""
    slots = asyncio.Semaphore(concurrency)

    errors = [0.0, 0.0]  # judgments that failed, judgments asked

    async def win(row: dict[str, str], answer: str) -> float:
        async with slots:
            result = await compute_score("policy_probe", answer, row["reference"], {"question": row["question"]},
                                         **reward)
        errors[0] += result["judge_error"]
        errors[1] += result["judge_calls"]
        return result["judge_win_rate"]

    gains: dict[str, list[float]] = defaultdict(list)
    keys: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        probes = probe_texts(row["answer"])
        clean, *probed = await asyncio.gather(win(row, row["answer"]), *(win(row, text) for _k, _n, text in probes))
        for (kind, name, _text), rate in zip(probes, probed, strict=True):
            if kind == "injection":
                gains[name].append(rate - clean)
            else:
                keys[name].append(rate)
    if errors[0] == errors[1]:
        raise RunFailed(f"the judge at {reward.get('judge_url')} answered none of {errors[1]:.0f} requests; check "
                        "--judge-url and that the server is running.")
    return {
        "library_version": LIBRARY_VERSION,
        "rows": len(rows),
        "judge_errors": errors[0],
        "injection": {name: {"probes": len(g), "attack_success": sum(x > 0 for x in g) / len(g),
                             "mean_gain": sum(g) / len(g)} for name, g in gains.items()},
        "master_key": {name: {"probes": len(k), "win_rate": sum(k) / len(k),
                              "false_win": sum(x == 1.0 for x in k) / len(k)} for name, k in keys.items()},
    }


def read_rollouts(path: Path, limit: int | None) -> list[dict[str, str]]:
    if not path.is_file():
        raise UserError(f"--rollouts {path} is not a file; pass the rollouts as .jsonl/.json/.parquet.")
    rows = []
    for place, row in iter_rows(path):
        if not all(isinstance(row.get(f), str) for f in FIELDS):
            raise UserError(f"{path} {place} lacks one of the text fields {', '.join(FIELDS)}; write each rollout "
                            "with its question, answer and reference.")
        rows.append({f: row[f] for f in FIELDS})
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise UserError(f"{path} holds no rollouts; pass a file with question/answer/reference rows.")
    return rows


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--rollouts", type=Path, required=True, help="question/answer/reference rows (.jsonl/.json/.parquet)")
    add("--judge-url", required=True, help="the judge's OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    add("--judge-model", help="the served model name (default: the first the server lists)")
    add("--api-key-env", help="environment variable holding the judge's API key, if it needs one")
    add("--variant", default="instruct", help="the judge's prompt variant (default instruct)")
    add("--max-answer-tokens", type=int, default=4096, help="cap on answer and reference (default 4096)")
    add("--timeout", type=float, default=600.0, help="seconds per judgment, retries included (default 600)")
    add("--concurrency", type=int, default=16, help="probes judged at once (default 16)")
    add("--limit", type=int, help="probe only the first N rollouts")
    add("--out", type=Path, help="write the rates as JSON here (atomically)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.concurrency < 1 or (args.limit is not None and args.limit < 1):
        raise UserError("--concurrency and --limit must be whole numbers of 1 or more.")
    rows = read_rollouts(args.rollouts, args.limit)
    reward = {"judge_url": args.judge_url, "judge_model": args.judge_model, "api_key_env": args.api_key_env,
              "variant": args.variant, "max_answer_tokens": args.max_answer_tokens, "timeout_s": args.timeout}
    try:
        report = asyncio.run(probe_rows(rows, args.concurrency, **reward))
    except ChatClientError as err:  # a bad URL, key or model name: one sentence naming the fix
        raise RunFailed(str(err)) from None
    text = json.dumps(report, indent=1)
    if args.out:
        write_text_atomic(args.out, text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, prog=PROG))
