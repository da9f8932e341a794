"""The flags every eval CLI shares (backend, prompt, sampling, orders, scoring, outputs) and the output-path checks."""

from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
import tempfile
from functools import partial
from pathlib import Path

from data_prep.prompts import VARIANTS
from eval.errors import EvalError
from eval.scoring import FAILURE_SCORES
from eval.voted import ORDER_POLICIES
from infra.cli_errors import OneLineParser
from infra.cli_flags import json_object, number, seed, whole
from reward_fns.verdict import MODES

COUNT, POSITIVE = whole(least=1), number(above=0)  # flag types: NaN, inf and 0 are refused as the flag is read


EvalParser = partial(OneLineParser, error_class=EvalError)  # argparse errors as one EvalError sentence (exit 2)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Every flag except the benchmark's data flags."""
    model = parser.add_argument_group("judge model and backend")
    model.add_argument("--ckpt", help="local Hugging Face model folder (hf/vllm backends; with --base-url: optional, "
                                      "read for its model card and tokenizer)")
    model.add_argument("--backend", choices=("auto", "hf", "vllm", "openai"), default="auto",
                       help="auto: openai if --base-url is given, else vllm when it is installed and a GPU is "
                            "visible, else hf (default auto)")
    model.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (selects openai)")
    model.add_argument("--model", help="model name the server serves (with --base-url)")
    model.add_argument("--same-judge-as", metavar="URL",
                       help="declare the judge at --base-url the same as the one served at URL (a restarted server, "
                            "another replica of one checkpoint): the run is keyed as that endpoint, so its --out and "
                            "cache are reused; without it a judge is its URL, name and model listing")
    model.add_argument("--api-key-env", metavar="VAR", help="NAME of the environment variable holding the API key "
                                                            "(never the key itself)")
    model.add_argument("--concurrency", type=COUNT, default=16, help="requests in flight to the server (default 16)")
    model.add_argument("--requests-per-minute", type=POSITIVE, help="pace requests to this rate (default: unpaced)")
    model.add_argument("--timeout", type=POSITIVE, default=600.0, help="seconds per server request (default 600)")
    model.add_argument("--tokenizer", help="tokenizer folder to count prompt tokens for --base-url runs "
                                           "(default: --ckpt if given; without one the server enforces limits)")
    model.add_argument("--device", default="auto", help="hf backend: cpu, cuda or cuda:N (default: cuda if visible)")
    model.add_argument("--dtype", default="auto", help="hf/vllm weights dtype: auto, float32, bfloat16, float16")
    model.add_argument("--batch-size", type=COUNT, default=4, help="hf backend: requests per generate call (default 4)")
    model.add_argument("--tensor-parallel-size", type=COUNT, default=1, help="vllm backend: GPUs per model (default 1)")
    model.add_argument("--gpu-memory-utilization", type=POSITIVE, default=0.9, help="vllm backend (default 0.9)")
    model.add_argument("--max-model-len", type=COUNT,
                       help="context length (prompt + new tokens); default the model's; raise it to keep long items")
    model.add_argument("--chat-template-kwargs", type=json_object, default="{}", metavar="JSON",
                       help='extra chat-template arguments, e.g. \'{"enable_thinking": true}\' (part of the cache key)')
    model.add_argument("--model-name", help="a readable name for a local judge in reports and the default --out "
                                            "(its identity stays the checkpoint's content fingerprint)")
    prompt = parser.add_argument_group("judge prompt (never guessed from the checkpoint path)")
    prompt.add_argument("--variant", choices=VARIANTS, help="built-in prompt variant; default: the model card's "
                                                            "rm_r1.prompt_variant")
    prompt.add_argument("--prompt-template", metavar="FILE", help="a template file (for checkpoints trained on "
                                                                  "another prompt); excludes --variant")
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--temperature", type=number(least=0), default=0.0,
                          help="0 = greedy (default, as RM-R1 evaluates)")
    sampling.add_argument("--top-p", type=POSITIVE, default=1.0, help="nucleus sampling (default 1.0)")
    sampling.add_argument("--max-new-tokens", type=COUNT, help="generation budget per judgment (default per prompt "
                                                             "variant: instruct 8192, reasoning 50000, a "
                                                             "--prompt-template file 50000; eval/judge_prompt.py)")
    sampling.add_argument("--seed", type=seed, default=0, help="seed for --order random and for sampling (default 0)")
    scoring = parser.add_argument_group("orders and scoring")
    scoring.add_argument("--order", choices=ORDER_POLICIES, default="both",
                         help="both: judge each comparison with the preferred answer as A and as B (default); "
                              "random: one order per comparison drawn from --seed")
    scoring.add_argument("--parse-mode", choices=MODES, default="strict",
                         help="verdict parse for the headline score (both are always reported; default strict)")
    scoring.add_argument("--parse-failure-score", choices=sorted(FAILURE_SCORES), default="0",
                         help="what a judgment without a verdict scores: 0 (default) or 0.5 (the official "
                              "RewardBench generative runner)")
    scoring.add_argument("--votes", type=whole(least=1, most=1024), default=1, metavar="K",
                         help="K sampled judgments per comparison (needs --temperature > 0), orders alternated "
                              "under --order both, voted per order (eval/voted.py); cached per sample, so a larger "
                              "K reuses a smaller one's (default 1: one judgment per order)")
    run = parser.add_argument_group("run and outputs")
    run.add_argument("--limit", type=COUNT, help="judge only N items, taken in turn from each section, then subset "
                                               "(smoke runs; the report is marked incomplete)")
    run.add_argument("--out", help="report folder (default outputs/eval/<benchmark>/<model>-<8 hex of the model "
                                   "identity>); one model, prompt and benchmark set per folder (kept in "
                                   "<out>/run.json)")
    run.add_argument("--cache", help="generation cache JSONL (default <out>/generations.jsonl; share one between "
                                     "runs of the same model to reuse generations)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--shard", metavar="I/N", help="judge only shard I of N (every N-th item from I, after --limit; "
                                                  "launch/eval.sh runs one per replica, eval/shards.py merges)")


MIN_FREE_BYTES = 1 << 20  # below this, the first cache lines or the report would not fit
_PROBE = b"\0" * 4096  # one block, written and synced: a full disk or quota says so now, not mid-run


def check_free_space(folder: Path) -> None:
    """Write and sync one block in ``folder`` and require some free space (OSError if either fails)."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-") as probe:
        probe.write(_PROBE)
        probe.flush()
        os.fsync(probe.fileno())
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, f"only {free // 1024} KiB free; the disk is full")


_CACHE_HEAD = re.compile(rb'\s*\{\s*"key"\s*:')


def is_generation_cache(path: Path) -> bool:
    """An empty file, or one that starts as every generation-cache line does (a JSON object keyed first by "key")."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        head = handle.read(64)
    return not head or _CACHE_HEAD.match(head) is not None


def check_out_file(out: str) -> Path:
    """``--out`` names a file this user can write (its folder is created), checked before the data is read."""
    path = Path(out)
    if path.is_dir():
        raise EvalError(f"--out {out!r} is a folder; pass the path of the file to write.")
    existing = next(p for p in path.absolute().parents if p.exists())
    if not existing.is_dir():
        raise EvalError(f"--out {out!r} lies under {str(existing)!r}, which is a file; pass a path in a folder.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        check_free_space(path.parent)
    except OSError as err:
        raise EvalError(f"--out {out!r} cannot be written ({err.strerror or err}); free space or pass a path "
                        "in a folder you can write to.") from err
    return path
