"""Flags and wiring shared by every benchmark CLI: backend, prompt, sampling, orders, scoring, outputs."""

from __future__ import annotations

import argparse
import errno
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from data_prep.prompts import VARIANTS
from eval.backends.base import Backend, Sampling
from eval.cache import GenerationCache
from eval.errors import EvalError
from eval.evaluate import EvalConfig
from eval.orders import ORDER_POLICIES
from eval.scoring import FAILURE_SCORES
from infra.cli_errors import OneLineParser
from infra.cli_flags import json_object, number, seed, whole
from reward_fns.verdict import MODES

BACKENDS = ("auto", "hf", "vllm", "openai")
COUNT, POSITIVE = whole(least=1), number(above=0)  # flag types: NaN, inf and 0 are refused as the flag is read


EvalParser = partial(OneLineParser, error_class=EvalError)  # argparse errors as one EvalError sentence (exit 2)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Every flag except the benchmark's data flags."""
    model = parser.add_argument_group("judge model and backend")
    model.add_argument("--ckpt", help="local Hugging Face model folder (hf/vllm backends; with --base-url: optional, "
                                      "read for its model card and tokenizer)")
    model.add_argument("--backend", choices=BACKENDS, default="auto",
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


def eval_config(args: argparse.Namespace) -> EvalConfig:
    """The run conventions from the flags (their types refused NaN, infinity and out-of-range numbers)."""
    if args.top_p > 1 or args.gpu_memory_utilization > 1:
        raise EvalError("--top-p and --gpu-memory-utilization must be in (0, 1]; fix the flag.")
    sampling = Sampling(args.temperature, args.top_p, args.max_new_tokens, args.seed)
    kwargs: dict[str, Any] = args.chat_template_kwargs
    options = {"chat_template_kwargs": kwargs} if kwargs else {}
    if args.votes > 1 and sampling.greedy:  # greedy samples of one prompt are the same judgment k times
        raise EvalError(f"--votes {args.votes} samples judgments, but --temperature 0 is greedy (every sample the "
                        "same); pass --temperature above 0, e.g. 0.6.")
    return EvalConfig(order=args.order, seed=args.seed, parse_mode=args.parse_mode,
                      parse_failure_score=args.parse_failure_score, sampling=sampling, request_options=options,
                      progress=not args.no_progress, votes=args.votes)


def backend_name(args: argparse.Namespace) -> str:
    """The backend ``--backend auto`` resolves to."""
    if args.base_url:
        if args.backend not in ("auto", "openai"):
            raise EvalError(f"--base-url selects the openai backend but --backend is {args.backend}; drop one.")
        return "openai"
    if getattr(args, "same_judge_as", None):
        raise EvalError("--same-judge-as declares two served endpoints one judge; it needs --base-url.")
    if args.backend == "openai":
        raise EvalError("--backend openai needs --base-url; pass the server's URL, e.g. http://127.0.0.1:8000/v1.")
    if args.backend != "auto":
        return str(args.backend)
    if importlib.util.find_spec("vllm") is not None and _cuda_visible():
        return "vllm"
    return "hf"


def make_backend(args: argparse.Namespace) -> Backend:
    """Build the backend the flags ask for (cheap: models load on first generation)."""
    name, kwargs = backend_name(args), args.chat_template_kwargs
    if name == "openai":
        from eval.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(args.base_url, args.model or "", api_key_env=args.api_key_env,
                             concurrency=args.concurrency, requests_per_minute=args.requests_per_minute,
                             timeout_s=args.timeout, chat_template_kwargs=kwargs, tokenizer=args.tokenizer or args.ckpt,
                             max_model_len=args.max_model_len, same_judge_as=args.same_judge_as)
    if name == "vllm":
        from eval.backends.vllm_offline import VLLMBackend

        return VLLMBackend(args.ckpt, tensor_parallel_size=args.tensor_parallel_size, max_model_len=args.max_model_len,
                           gpu_memory_utilization=args.gpu_memory_utilization, dtype=args.dtype, seed=args.seed,
                           chat_template_kwargs=kwargs, model_name=args.model_name)
    from eval.backends.hf import HFBackend

    device = args.device if args.device != "auto" else ("cuda" if _cuda_visible() else "cpu")
    return HFBackend(args.ckpt, device=device, dtype=args.dtype, batch_size=args.batch_size,
                     max_model_len=args.max_model_len, chat_template_kwargs=kwargs, model_name=args.model_name)


def default_out(benchmark: str, args: argparse.Namespace, model_id: str | None = None) -> Path:
    """``outputs/eval/<benchmark>/<name>-<8 hex of the model identity>``: two models never share a default.

    The readable part is --model-name, --model or the checkpoint folder (with its parent when the
    folder has a generic name such as ``huggingface``, as exported training steps do). Pass the
    backend's ``model_id``: without it the folder is named by the readable part alone.
    """
    name = args.model_name or args.model or _folder_name(args.ckpt) or "judge"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:80] or "judge"
    if model_id is None:
        return Path("outputs") / "eval" / benchmark / readable
    digest = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:8]
    return Path("outputs") / "eval" / benchmark / f"{readable}-{digest}"


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
RUN_FILES = ("run.json", "summary.json", "generations.jsonl")  # what makes a folder an eval report folder


def is_report_folder(path: Path) -> bool:
    """An eval ``--out`` this project made (one of its run files), or an empty folder: resuming it is allowed."""
    return path.is_dir() and (any((path / name).is_file() for name in RUN_FILES) or not any(path.iterdir()))


def is_generation_cache(path: Path) -> bool:
    """An empty file, or one that starts as every generation-cache line does (a JSON object keyed first by "key")."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        head = handle.read(64)
    return not head or _CACHE_HEAD.match(head) is not None


def check_out(out: Path) -> None:
    """``--out`` is a writable folder with some free space (another judge's report there is refused by its run.json)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        check_free_space(out)
    except OSError as err:
        raise EvalError(f"--out {os.fspath(out)!r} is not writable ({err.strerror or err}); "
                        "free space there or pass a folder you can write to.") from err


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


SAME_JUDGE_HINT = " (or --same-judge-as URL if both endpoints serve one checkpoint under one name)"


def check_cache_models(cache: GenerationCache, model_id: str) -> None:
    """Refuse a cache holding another judge's generations: one judge per cache file (shared only across runs)."""
    others = sorted(cache.model_ids - {model_id})
    if others:
        raise EvalError(f"cache {os.fspath(cache.path)!r} holds generations of another judge ({others[0]}, not "
                        f"{model_id}); pass a different --out or --cache{SAME_JUDGE_HINT}.")


def _folder_name(ckpt: str | None) -> str | None:
    if not ckpt:
        return None
    path = Path(ckpt).resolve()
    generic = path.name.lower() in ("huggingface", "hf", "actor", "model", "checkpoint", "export")
    return f"{path.parent.name}_{path.name}" if generic and path.parent.name else path.name


def _cuda_visible() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
