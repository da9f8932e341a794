"""Data-prep speed: `--mix rm_r1` on a synthetic ~73K-pair mix with a ~150K-vocabulary BPE tokenizer.

    python benchmarks/data_prep_speed.py                  # the full mix (~73K pairs; several minutes)
    python benchmarks/data_prep_speed.py --pairs 5000     # a quick run
    python benchmarks/data_prep_speed.py --json out.json

Prints rows/s, seconds per stage, the build's peak RSS, and the ratio of the build's total time to
pure tokenization of the same prompts (targets from the data-prep issue: ratio <= 1.3, RSS < 3 GB).

Setup (cached under --work-dir, not timed): a byte-level BPE tokenizer trained on synthetic
pseudo-English to ~151.6K tokens with Qwen2's pre-tokenizer and a ChatML chat template; local copies of
the three rm_r1 sources in their hub schemas at paper scale times --pairs/72,946 (Skywork-like
conversations, 15% multi-turn, judge prompts of ~1-3K tokens, ~1.5% longer than the 4,096 limit; the
magpie_ultra rows and the Code-Preference-Pairs rows outside the seeded sample are read and dropped as in
the real mix); five benchmark prompt files with some training prompts planted in them.

The build (timed, in a fresh process so its peak RSS is its own) is ``data_prep.pipeline.build`` with
the length filter and decontamination on. The baseline (another fresh process) renders the prompts the
length filter measured, both A/B orders, untimed, and times only the Rust batch encoder on them, with
the same chunking and all cores. The machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

PAPER_PAIRS = 54_146 + 8_000 + 10_800  # kept pairs of the paper's mix: Skywork, Code sample, Math
VOCAB_SIZE = 151_643  # Qwen2's regular vocabulary
SETUP_VERSION = "speed-v2"
QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")


def build_tokenizer(out: Path, corpus_chars: int = 60_000_000) -> Path:
    """Train the ~150K-token byte-level BPE tokenizer on synthetic text and save it with a chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from data_prep.prompts import VARIANTS
    from testkit.synthetic_text import TextMaker
    from testkit.tiny_model import CHAT_TEMPLATE, SPECIAL_TOKENS, THINK_TOKENS

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # The judge templates are real English: a real tokenizer knows their words, so this one learns them too.
    english = [(resources.files("data_prep") / "templates" / f"{v}.txt").read_text(encoding="utf-8")
               for v in VARIANTS] * 200
    synthetic = TextMaker(seed=11, lexicon_size=250_000, pool_size=60_000).corpus(corpus_chars)
    tok.train_from_iterator(itertools.chain(english, synthetic), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>"], chat_template=CHAT_TEMPLATE)
    fast.add_tokens(THINK_TOKENS, special_tokens=False)
    fast.save_pretrained(out)
    return out


def prepare(work: Path, pairs: int) -> dict[str, Any]:
    """Tokenizer, sources and benchmark files (each built once per setting, then reused)."""
    from testkit.synthetic_sources import Lengths, Sizes, write_benchmarks, write_sources
    from testkit.synthetic_text import TextMaker

    started = time.perf_counter()
    tokenizer = work / f"tokenizer-{SETUP_VERSION}"
    if not (tokenizer / "tokenizer.json").is_file():
        build_tokenizer(tokenizer)
    data = work / f"data-{SETUP_VERSION}-{pairs}"
    if not (data / "done").is_file():
        scale = pairs / PAPER_PAIRS
        text = TextMaker(seed=0, lexicon_size=250_000, pool_size=60_000)
        # ~2.1 tokens a pseudo-word, instruct template ~600 tokens: judge prompts of ~1-3K tokens, a few over 4,096
        write_sources(data / "sources", Sizes.scaled(scale), Lengths(190, 1120, long_share=0.015), text=text)
        planted = _planted(data / "sources", n=max(5, pairs // 200))
        write_benchmarks(data / "bench", prompts_per_benchmark=max(50, round(2000 * scale)), planted=planted)
        (data / "done").write_text("ok\n")
    return {"tokenizer": str(tokenizer), "data": str(data), "seconds": time.perf_counter() - started}


def _planted(sources: Path, n: int) -> list[str]:
    import pyarrow.parquet as pq

    from testkit.synthetic_sources import HUB_FILE

    rows = pq.read_table(sources / "skywork" / HUB_FILE, columns=["chosen"]).slice(0, 2 * n).to_pylist()
    prompts = [r["chosen"][-2]["content"] for r in rows]
    return prompts[:n] + [p.upper() + " ..." for p in prompts[n:]]  # verbatim, and case/punctuation variants


def _options(setup: dict[str, Any], variants: list[str], out: Path) -> Any:
    from data_prep.benchmark_prompts import parse_benchmark_spec
    from data_prep.mix import Sample, load_mix, with_overrides
    from data_prep.pipeline import BuildOptions

    data = Path(setup["data"])
    mix = with_overrides(load_mix("rm_r1"), {n: str(data / "sources" / n) for n in ("skywork", "code", "math")}, {})
    scale = setup["pairs"] / PAPER_PAIRS
    sources = tuple(dataclasses.replace(s, sample=Sample(max(1, round(s.sample.size * scale)), s.sample.seed))
                    if s.sample else s for s in mix.sources)  # the 8,000-row sample scaled like the rest
    bench = data / "bench"
    specs = [f"{n}={bench / f}" for n, f in (("rewardbench", "rewardbench.jsonl"), ("rm-bench", "rm-bench.jsonl"),
                                            ("rmb", "RMB_dataset"), ("rewardbench2", "rewardbench2.jsonl"),
                                            ("judgebench", "judgebench.jsonl"))]
    return BuildOptions(mix=dataclasses.replace(mix, sources=sources), out=out, variants=tuple(variants),
                        progress=False, tokenizer=setup["tokenizer"], max_prompt_length=4096,
                        benchmarks=tuple(parse_benchmark_spec(s) for s in specs))


def run_build(setup: dict[str, Any], variants: list[str]) -> dict[str, Any]:
    """The timed build; returns wall time, stage timings, counts and peak RSS of this process."""
    import tempfile

    from data_prep.manifest import MANIFEST_NAME
    from data_prep.pipeline import build

    with tempfile.TemporaryDirectory(prefix="speed-out-", dir=setup["work"]) as out:
        options = _options(setup, variants, Path(out))
        started = time.perf_counter()
        result = build(options)
        wall = time.perf_counter() - started
        manifest = json.loads((Path(out) / variants[0] / MANIFEST_NAME).read_text())
    return {"wall": wall, "timings": result.timings, "input_rows": sum(result.input_pairs.values()),
            "rows": {v: sum(b.rows.values()) for v, b in result.variants.items()},
            "dropped": {r: sum(c.values()) for r, c in manifest["counts"]["dropped"].items() if c},
            "decontamination": manifest["counts"]["decontamination"], "peak_rss_mb": _peak_rss_mb()}


def run_baseline(setup: dict[str, Any], variants: list[str]) -> dict[str, Any]:
    """Encode-only time for the prompts the length filter measured (rendering untimed)."""
    from data_prep.collect import collect
    from data_prep.length_filter import DEFAULT_CHUNK, PromptLengthFilter, load_tokenizer
    from data_prep.prompts import builtin_template

    options = _options(setup, variants, Path(setup["work"]) / "unused")
    pairs = collect(options).pairs
    measure = PromptLengthFilter(load_tokenizer(setup["tokenizer"]), 4096)
    seconds, prompts, tokens = 0.0, 0, 0
    for variant in variants:
        template = builtin_template(variant)
        for i in range(0, len(pairs), DEFAULT_CHUNK):
            texts = measure.render_texts(pairs[i : i + DEFAULT_CHUNK], template)
            started = time.perf_counter()
            counts = measure.count_tokens(texts)
            seconds += time.perf_counter() - started
            prompts += len(texts)
            tokens += sum(counts)
    return {"seconds": seconds, "prompts": prompts, "tokens": tokens}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _stage(name: str, args: argparse.Namespace, setup: dict[str, Any]) -> dict[str, Any]:
    """Run one stage in a fresh interpreter and return its JSON result."""
    result = Path(setup["work"]) / f"{name}.json"
    command = [sys.executable, __file__, "--stage", name, "--setup", json.dumps(setup), "--result", str(result),
               "--variants", *args.variants]
    subprocess.run(command, check=True)
    return json.loads(result.read_text())


def report(setup: dict[str, Any], built: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The numbers, printed and returned."""
    ratio = built["wall"] / base["seconds"]
    summary = {"pairs_target": setup["pairs"], "input_rows": built["input_rows"], "rows_written": built["rows"],
               "build_seconds": round(built["wall"], 1), "input_rows_per_s": round(built["input_rows"] / built["wall"]),
               "stages": built["timings"], "peak_rss_mb": round(built["peak_rss_mb"]),
               "tokenize_only_seconds": round(base["seconds"], 1), "prompts_tokenized": base["prompts"],
               "mean_prompt_tokens": round(base["tokens"] / max(1, base["prompts"])), "ratio": round(ratio, 3),
               "dropped": built["dropped"], "decontamination": built["decontamination"],
               "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"mix: {built['input_rows']:,} input rows -> {built['rows']} rows written; dropped {built['dropped']}")
    print(f"build: {built['wall']:.1f} s = {summary['input_rows_per_s']:,} input rows/s; "
          f"peak RSS {summary['peak_rss_mb']:,} MB (target < 3,000)")
    for stage, seconds in built["timings"].items():
        print(f"  {stage:<28} {seconds:8.2f} s")
    print(f"tokenize only: {base['seconds']:.1f} s for {base['prompts']:,} prompts "
          f"({summary['mean_prompt_tokens']:,} tokens on average, {base['tokens'] / base['seconds'] / 1e6:.2f} M/s)")
    print(f"ratio build / tokenize-only: {ratio:.3f} (target <= 1.3); {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} (the machine may be shared)")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=PAPER_PAIRS, help=f"pairs in the mix (default {PAPER_PAIRS:,})")
    parser.add_argument("--variants", nargs="+", default=["instruct"], choices=["instruct", "reasoning"],
                        help="prompt variants to build (default: instruct)")
    parser.add_argument("--work-dir", type=Path, default=Path(".cache/data_prep_speed"),
                        help="where the tokenizer and synthetic data are cached (default .cache/data_prep_speed)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this JSON file")
    parser.add_argument("--stage", choices=["build", "baseline"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--setup", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        setup = json.loads(args.setup)
        run = run_build if args.stage == "build" else run_baseline
        args.result.write_text(json.dumps(run(setup, args.variants)))
        return 0
    args.work_dir.mkdir(parents=True, exist_ok=True)
    print(f"setup in {args.work_dir} (tokenizer and data are built once, then reused) ...", flush=True)
    setup = prepare(args.work_dir, args.pairs) | {"pairs": args.pairs, "work": str(args.work_dir.resolve())}
    print(f"setup: {setup['seconds']:.0f} s; building ...", flush=True)
    built = _stage("build", args, setup)
    print("tokenize-only baseline ...", flush=True)
    summary = report(setup, built, _stage("baseline", args, setup))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
