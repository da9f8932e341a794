"""One judge run over one or more benchmarks: every benchmark CLI is this with one name, run_all with several.

``eval/<benchmark>.py`` is its docstring plus a partial of :func:`main` (the benchmark's data flags,
defaults from its :class:`~eval.benchmark.Benchmark`, and every common flag; one sentence, no traceback;
exit 0 done, 1 the run failed, 2 a bad flag or input, 130 interrupted).

:class:`EvalSession` owns what a run shares: the prompt (``--variant``, ``--prompt-template`` or the
model card), the generation budget, the conventions, the backend, the output folder, the judge's
identity in each report folder and the generation cache's lock. :func:`run` checks every input
(data, prompt, outputs, identity) before the first request, judges each benchmark through the one
cache, writes each benchmark's reports and, for several, the combined report, whose summary carries
the same run metadata (inputs with their hashes) as a single benchmark's.

A report folder holds one run (model, prompt, benchmarks): rerunning the same command resumes from the
cache, while another model, prompt or benchmark set into the same ``--out`` would mix two runs. So the
first run records its identity in ``<out>/run.json`` (after every input check, before the first
request), and a later run into that folder must match it; a mismatch is one sentence naming the field,
both values and the fix.

The benchmark registry (:data:`NAMES`, :func:`benchmark_named`) is the one run_all and compare read.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from eval.backends.base import Backend, Sampling
from eval.benchmark import Benchmark, BenchmarkData
from eval.cache import GenerationCache
from eval.cli_common import EvalParser, add_common_args, check_free_space, is_generation_cache
from eval.combined_report import combined_summary, render
from eval.errors import EvalError
from eval.evaluate import EvalConfig, PairwiseResult, check_prompt, evaluate
from eval.judge_prompt import choose_prompt
from eval.report import EvalRun, Summary, write_reports
from eval.report_text import console_summary, pct, shard_text
from eval.shards import parse_shard
from infra.atomic_files import write_text_atomic
from infra.cli_errors import run_cli
from infra.output_guard import check_output
from infra.user_json import read_json_file

NAMES: tuple[str, ...] = ("rewardbench", "rmbench", "rmb", "rewardbench2", "judgebench")
Loaded = Mapping[str, tuple[Benchmark, BenchmarkData]]
IDENTITY_FILE, IDENTITY_FORMAT = "run.json", "eval-run-identity-v1"
RUN_FILES = ("run.json", "summary.json", "generations.jsonl")  # what makes a folder an eval report folder
# identity field -> (what it is called in a message, the flags that choose it)
_FIELDS: dict[str, tuple[str, str]] = {
    "model": ("judge", "--ckpt/--base-url/--model/--model-name (or --same-judge-as URL when both endpoints serve one "
                       "checkpoint under one name)"),
    "prompt": ("prompt", "--variant/--prompt-template"),
    "prompt_sha256": ("prompt text (sha256)", "--variant/--prompt-template"),
    "prompt_version": ("prompt version", "--variant/--prompt-template"),
    "benchmarks": ("benchmarks", "--benchmarks"),
}


def benchmark_named(name: str) -> Benchmark:
    """The registered Benchmark called ``name`` (``BENCHMARK`` in ``eval/benchmarks/<name>.py``)."""
    if name not in NAMES:
        raise EvalError(f"no comparison is defined for benchmark {name!r}; compare runs of one of {', '.join(NAMES)}.")
    return cast(Benchmark, importlib.import_module(f"eval.benchmarks.{name}").BENCHMARK)


def load(benchmark: Benchmark, source: str | None, split: str | None, revision: str | None,
         args: argparse.Namespace) -> BenchmarkData:
    """The benchmark's items after ``--limit`` and ``--shard`` (every row checked, each expanded once)."""
    data = benchmark.load_data(source, split, revision, args.limit)
    return replace(data, items=parse_shard(args.shard).take(data.items)) if args.shard else data  # total kept


class EvalSession:
    """The prompt, budget, conventions, backend, output folder, identity and cache lock of one judge run."""

    def __init__(self, args: argparse.Namespace, tool: str | None = None, backend: Backend | None = None) -> None:
        self.args, self.tool = args, tool
        self.prompt = choose_prompt(args.variant, args.prompt_template, args.ckpt)
        self.budget_source = "--max-new-tokens"
        if args.max_new_tokens is None:  # the prompt's default budget
            args.max_new_tokens, self.budget_source = self.prompt.budget
        self.config = eval_config(args)
        self.backend = backend or make_backend(args)
        self.shard = args.shard and str(parse_shard(args.shard))
        self.cache: GenerationCache | None = None

    def check_prompt(self, loaded: Loaded) -> None:
        """Every item of every benchmark can be shown by the prompt (before any folder or request)."""
        for benchmark, data in loaded.values():
            check_prompt(benchmark, data, self.prompt.template)

    def out(self, default_name: str) -> Path:
        """``--out``, else ``outputs/eval/<default_name>/<name>-<8 hex of the judge identity>``."""
        return Path(self.args.out) if self.args.out else default_out(default_name, self.args, self.backend.model_id)

    def cache_path(self, out: Path) -> Path:
        return Path(self.args.cache) if self.args.cache else out / "generations.jsonl"

    @contextmanager
    def opened(self, out: Path, folders: Mapping[Path, list[str]], data: list[str | None]) -> Iterator[None]:
        """Check each report folder and the cache (no input touched, one judge, prompt and benchmark set per
        folder), then lock the cache and record each folder's identity; the backend is closed on exit."""
        inputs = [*(("--data", d) for d in data), ("--ckpt", self.args.ckpt), ("--tokenizer", self.args.tokenizer),
                  ("--prompt-template", self.args.prompt_template)]  # what no output may be, hold or sit inside
        check_output("--out", out, inputs, ours=is_report_folder)  # ours (a run file, or empty): resumed
        if self.args.cache is not None:  # the default cache is the report folder's own, ours once --out passes
            check_output("--cache", self.args.cache, inputs, ours=is_generation_cache)
        identities: dict[Path, str] = {}  # what each folder's results depend on, and a resume must not change
        template = self.prompt.template
        for folder, names in folders.items():
            check_output("--out", folder, inputs, ours=is_report_folder)
            try:  # a writable folder with some free space
                folder.mkdir(parents=True, exist_ok=True)
                check_free_space(folder)
            except OSError as err:
                raise EvalError(f"--out {os.fspath(folder)!r} is not writable ({err.strerror or err}); "
                                "free space there or pass a folder you can write to.") from err
            identity = {"format": IDENTITY_FORMAT, "model": self.backend.model_id, "prompt": template.name,
                        "prompt_sha256": template.sha256, "prompt_version": template.version, "benchmarks": names}
            _check_identity(folder, identity)  # no other judge's, prompt's or benchmark set's report
            identities[folder] = json.dumps(identity, indent=2, ensure_ascii=False) + "\n"
        try:
            with GenerationCache(self.cache_path(out)) as cache:  # locked: a concurrent run is refused up front
                model_id = self.backend.model_id  # one judge per cache file (each line's context names its judge)
                others = sorted({r.model_id for r in cache.records.values() if r.model_id is not None} - {model_id})
                if others:
                    raise EvalError(f"cache {os.fspath(cache.path)!r} holds generations of another judge ({others[0]}, "
                                    f"not {model_id}); pass a different --out or --cache (or --same-judge-as URL if "
                                    "both endpoints serve one checkpoint under one name).")
                for folder, text in identities.items():
                    path = folder / IDENTITY_FILE
                    if not path.is_file() or path.read_text(encoding="utf-8", errors="replace") != text:
                        write_text_atomic(path, text)
                self.cache = cache
                yield
        finally:
            self.cache = None
            self.backend.close()

    def publish(self, out: Path, name: str, result: Mapping[str, Any], text: str, note: str = "") -> int:
        """A side report (``<out>/<name>.json`` and ``.md``, atomically), the markdown printed; the exit status."""
        write_text_atomic(out / f"{name}.json",
                          json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        write_text_atomic(out / f"{name}.md", text)
        print(text, end="")
        print(f"reports in {os.fspath(out)}{note}")
        return 0

    @property
    def locked_cache(self) -> GenerationCache:
        """The generation cache, locked for this run (only inside :meth:`opened`)."""
        if self.cache is None:
            raise RuntimeError("the generation cache is used inside EvalSession.opened, where it is locked.")
        return self.cache

    def evaluate(self, benchmark: Benchmark, data: BenchmarkData) -> PairwiseResult:
        """Judge every comparison (cached generations reused) and aggregate."""
        return evaluate(benchmark, data, self.prompt.template, self.backend, self.locked_cache, self.config)

    def write(self, folder: Path, benchmark: Benchmark, data: BenchmarkData, result: PairwiseResult,
              cache_from: Path) -> Summary:
        """The benchmark's reports in ``folder``; the cache path recorded relative to it (no machine paths)."""
        run = EvalRun(benchmark, data, self.config, self.prompt, self.backend.describe(), self.backend.model_id,
                      self.args.limit, _relative(self.cache_path(cache_from), folder), self.tool, self.shard)
        return write_reports(folder, run, result, plots=not self.args.no_plots)


Extra = Callable[["EvalSession", Path, str], object]  # (session, its report folder, the cache path shown there)


def run(session: EvalSession, loaded: Loaded, skipped: Mapping[str, str] | None = None, *,
        data: list[str | None], extra: Mapping[str, Extra] | None = None) -> int:
    """Judge ``loaded`` in ``session``: one benchmark's reports in ``--out``, several in ``<out>/<name>/``
    beside the combined report. ``skipped`` marks a run_all run (benchmarks it left out, and why);
    ``extra`` judges more in ``<out>/<name>/`` after them (run_all's robustness suite), in the same cache."""
    session.check_prompt(loaded)
    single = skipped is None
    out = session.out(next(iter(loaded)) if single else "all")
    folders = {out if single else out / name: [name] for name in [*loaded, *(extra or {})]}
    if not single:
        folders = {out: list(loaded), **folders}
    summaries: list[Summary] = []
    generated = reused = 0
    with session.opened(out, folders, data):
        for name, (benchmark, items) in loaded.items():
            result = session.evaluate(benchmark, items)
            generated, reused = generated + result.stats.generated, reused + result.stats.cache_hits
            summaries.append(session.write(out if single else out / name, benchmark, items, result, out))
            if not single:
                shard = shard_text(summaries[-1])
                print(f"{name}: score {pct(summaries[-1]['score'])}" + (f" ({shard} only)" if shard else ""),
                      file=sys.stderr)
        for name, judge in (extra or {}).items():
            judge(session, out / name, _relative(session.cache_path(out), out / name))
    if single:
        print(console_summary(summaries[0], os.fspath(out)))
        return 0
    summary = combined_summary(summaries, skipped or {}, budget_source=session.budget_source, generated=generated,
                               cache=_relative(session.cache_path(out), out), reused=reused)
    write_text_atomic(out / "report.md", render(summary))
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    print(render(summary).split("\n\nScores are")[0])
    print(f"reports in {os.fspath(out)}")
    return 0


def _relative(path: Path, start: Path) -> str:
    """A path as recorded in reports: relative to ``start`` (no machine paths)."""
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _check_identity(out: Path, mine: dict[str, Any]) -> None:
    """Refuse an ``--out`` whose run.json names another model, prompt or benchmark set (before any request)."""
    recorded = read_json_file(out / IDENTITY_FILE, {})  # a damaged file is not an identity
    if not isinstance(recorded, dict) or recorded.get("format") != IDENTITY_FORMAT:
        return
    for field, (what, flags) in _FIELDS.items():
        if field in recorded and recorded[field] != mine[field]:
            raise EvalError(f"--out {os.fspath(out)!r} holds a run with {what} {_shown(recorded[field])}, not "
                            f"{_shown(mine[field])}; pass a different --out, or the same {flags} to resume that run.")


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return repr(",".join(str(v) for v in value))
    text = str(value)
    return repr(text[:12] + "…" if len(text) == 64 else text)  # a sha256 is shown by its head


def make_parser(benchmark: Benchmark, prog: str, doc: str | None) -> argparse.ArgumentParser:
    """One benchmark's command line: its data flags and every common flag."""
    parser = EvalParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    where = f"default {benchmark.data_default}" if benchmark.data_default else "required"
    data.add_argument("--data", default=benchmark.data_default,
                      help=f"hub dataset name or local file/folder ({where})")
    data.add_argument("--split", default=benchmark.split, help=f"split to evaluate (default {benchmark.split})")
    data.add_argument("--revision", default=benchmark.revision, help="hub revision (default: the pinned commit)")
    add_common_args(parser)
    return parser


def main(benchmark: Benchmark, prog: str, doc: str | None, argv: Sequence[str] | None = None) -> int:
    """run_all with one benchmark (its reports straight in ``--out``, the console summary); the exit status."""
    parser = make_parser(benchmark, prog, doc)

    def one(argv: Sequence[str] | None) -> int:
        args = parser.parse_args(argv)
        judge_run = EvalSession(args)  # flags, prompt and backend settings checked before the data is read
        data = load(benchmark, args.data, args.split, args.revision, args)
        return run(judge_run, {benchmark.name: (benchmark, data)}, data=[args.data])

    return run_cli(one, argv, prog=prog)


def is_report_folder(path: Path) -> bool:
    """An eval ``--out`` this project made (one of its run files), or an empty folder: resuming it is allowed."""
    return path.is_dir() and (any((path / name).is_file() for name in RUN_FILES) or not any(path.iterdir()))


def eval_config(args: argparse.Namespace) -> EvalConfig:
    """The run conventions from the flags (their types refused NaN, infinity and out-of-range numbers)."""
    if args.top_p > 1 or args.gpu_memory_utilization > 1:
        raise EvalError("--top-p and --gpu-memory-utilization must be in (0, 1]; fix the flag.")
    sampling = Sampling(args.temperature, args.top_p, args.max_new_tokens, args.seed)
    options = {"chat_template_kwargs": args.chat_template_kwargs} if args.chat_template_kwargs else {}
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


def default_out(benchmark: str, args: argparse.Namespace, model_id: str) -> Path:
    """``outputs/eval/<benchmark>/<name>-<8 hex of the model identity>``: two models never share a default.

    The readable part is --model-name, --model or the checkpoint folder (with its parent when the
    folder has a generic name such as ``huggingface``, as exported training steps do).
    """
    name = args.model_name or args.model or _folder_name(args.ckpt) or "judge"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:80] or "judge"
    digest = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:8]
    return Path("outputs") / "eval" / benchmark / f"{readable}-{digest}"


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
