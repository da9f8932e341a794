"""Synthetic local copies of the rm_r1 sources and of benchmark prompt files, in their real schemas.

Every row is generated (:mod:`testkit.synthetic_text`); nothing is copied from the real data. Tests
and ``benchmarks/data_prep_speed.py`` call :func:`write_sources` and :func:`write_benchmarks`; the CLI
writes the three sources for a dry run of ``--mix rm_r1`` (it prints each file it wrote)::

    python -m testkit.synthetic_sources OUT_DIR [--scale 0.01] [--seed 0]
    python data_prep/build_parquet.py --mix rm_r1 --source skywork=OUT_DIR/skywork code=OUT_DIR/code \\
        math=OUT_DIR/math --out data/dry_run

Layouts follow the hub: ``{name}/data/train-00000-of-00001.parquet``. Skywork rows hold whole
conversations (single- and multi-turn) and a ``source`` subset column, with ``magpie_ultra`` rows the
mix drops; Code-Preference-Pairs rows have ``input``/``accepted``/``rejected``; Math-Step-DPO rows have
``dataset``, ``prompt``, ``initial_reason_steps``, ``full_chosen``, ``full_rejected``, ``chosen``,
``rejected``, ``answer``. Benchmark files (Python only) use each benchmark's prompt field (see
:mod:`data_prep.benchmark_prompts`); RMB is a folder of json files like its ``RMB_dataset`` tree.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cli_errors import OneLineParser, run_cli
from infra.cli_flags import folder, number, seed
from testkit.synthetic_text import TextMaker

# Skywork subsets kept by the paper, with their counts (docs/rm_r1_method.md); magpie_ultra is dropped.
SKYWORK_SUBSETS: dict[str, int] = {"magpie_pro_llama3.1": 29_682, "offset_bias": 8_504, "helpsteer2": 7_221,
                                   "wildguard": 6_709, "magpie_pro": 2_030}
HUB_FILE = "data/train-00000-of-00001.parquet"
_CHUNK = 2048


@dataclass(frozen=True)
class Sizes:
    """Rows per source file. The defaults are the paper's scale; ``Sizes.scaled(0.01)`` is 1% of it."""

    skywork: int = 54_146
    magpie_ultra: int = 26_000
    code: int = 16_000
    math: int = 10_800

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        """The paper-scale sizes times ``scale`` (at least one row each)."""
        full = cls()
        return cls(*(max(1, round(getattr(full, f) * scale)) for f in ("skywork", "magpie_ultra", "code", "math")))


@dataclass(frozen=True)
class Lengths:
    """Words per pair (question plus both answers), drawn uniformly; ``long_share`` of pairs get 2-3x."""

    low: int = 40
    high: int = 120
    long_share: float = 0.0


def write_sources(out: str | os.PathLike[str], sizes: Sizes, lengths: Lengths = Lengths(), seed: int = 0,
                  text: TextMaker | None = None) -> dict[str, Path]:
    """Write the three sources under ``out`` in the hub layout; returns ``{source: folder}``."""
    text = text or TextMaker(seed)
    root = Path(out)
    makers: dict[str, tuple[int, Callable[[int], dict[str, Any]]]] = {
        "skywork": (sizes.skywork + sizes.magpie_ultra, _skywork_row(text, sizes, lengths)),
        "code": (sizes.code, _code_row(text, lengths)),
        "math": (sizes.math, _math_row(text, lengths)),
    }
    folders = {}
    for name, (count, make) in makers.items():
        folders[name] = root / name
        _write_rows((make(i) for i in range(count)), folders[name] / HUB_FILE)
    return folders


def _words(text: TextMaker, lengths: Lengths) -> int:
    n = text.rng.randint(lengths.low, lengths.high)
    return n * text.rng.randint(2, 3) if text.rng.random() < lengths.long_share else n


def _split_words(text: TextMaker, total: int) -> tuple[int, int, int]:
    question = max(5, int(total * text.rng.uniform(0.08, 0.3)))
    first = max(5, int((total - question) * text.rng.uniform(0.3, 0.7)))
    return question, first, max(5, total - question - first)


def _skywork_row(text: TextMaker, sizes: Sizes, lengths: Lengths) -> Callable[[int], dict[str, Any]]:
    names = list(SKYWORK_SUBSETS)
    weights = list(SKYWORK_SUBSETS.values())

    def make(i: int) -> dict[str, Any]:
        subset = "magpie_ultra" if i >= sizes.skywork else text.rng.choices(names, weights=weights)[0]
        q, a, b = _split_words(text, _words(text, lengths))
        prompt = [{"role": "user", "content": text.prose(q)}]
        if text.rng.random() < 0.15:  # multi-turn: an earlier exchange both sides share
            prompt = [{"role": "user", "content": text.prose(max(5, q // 2))},
                      {"role": "assistant", "content": text.prose(max(5, a // 3))}, *prompt]
        return {"chosen": prompt + [{"role": "assistant", "content": text.prose(a)}],
                "rejected": prompt + [{"role": "assistant", "content": text.prose(b)}], "source": subset}
    return make


def _code_row(text: TextMaker, lengths: Lengths) -> Callable[[int], dict[str, Any]]:
    def make(i: int) -> dict[str, Any]:
        q, a, b = _split_words(text, _words(text, lengths))
        answer = lambda n: text.prose(max(5, n // 4)) + "\n\n" + text.code(n)  # noqa: E731
        return {"input": text.prose(q), "accepted": answer(a), "rejected": answer(b)}
    return make


def _math_row(text: TextMaker, lengths: Lengths) -> Callable[[int], dict[str, Any]]:
    def make(i: int) -> dict[str, Any]:
        q, a, b = _split_words(text, _words(text, lengths))
        shared = text.rng.randint(0, 3)
        steps = text.math(min(a, b) // 3, 1) if shared else ""
        first = steps.count("Step ") + 1
        chosen, rejected = text.math(a, first), text.math(b, first)
        return {"dataset": text.rng.choice(["MATH", "GSM8K", "aqua"]), "prompt": text.prose(q),
                "initial_reason_steps": steps, "full_chosen": chosen, "full_rejected": rejected,
                "chosen": chosen.split("\n")[0], "rejected": rejected.split("\n")[0],
                "answer": str(text.rng.randint(0, 999))}
    return make


def _write_rows(rows: Iterator[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            writer = _flush(writer, chunk, path, pa, pq)
            chunk = []
    if chunk or writer is None:
        writer = _flush(writer, chunk, path, pa, pq)
    writer.close()


def _flush(writer: Any, chunk: list[dict[str, Any]], path: Path, pa: Any, pq: Any) -> Any:
    table = pa.Table.from_pylist(chunk, schema=writer.schema if writer is not None else None)
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table)
    return writer


def write_benchmarks(out: str | os.PathLike[str], prompts_per_benchmark: int, seed: int = 1,
                     planted: Sequence[str] = (), text: TextMaker | None = None) -> dict[str, Path]:
    """Benchmark prompt files under ``out``: fresh prompts plus ``planted`` training prompts (contamination).

    Planted prompts are shared out over the benchmarks in turn; returns ``{benchmark: path}``.
    """
    text = text or TextMaker(seed)
    root = Path(out)
    names = ["rewardbench", "rm-bench", "rmb", "rewardbench2", "judgebench"]
    own: dict[str, list[str]] = {n: [text.prose(text.rng.randint(15, 150)) for _ in range(prompts_per_benchmark)]
                                 for n in names}
    for i, prompt in enumerate(planted):
        own[names[i % len(names)]].append(prompt)
    paths = {}
    for name, prompts in own.items():
        if name == "rmb":
            paths[name] = root / "RMB_dataset"
            rows = [{"pair_uid": f"p{i}", "conversation_input": [{"role": "user", "content": p, "language": "en"}],
                     "chosen": {"llm_name": "m1", "answer": "a"}, "reject": {"llm_name": "m2", "answer": "b"},
                     "category_path": "Pairwise_set/Helpfulness/Chat/Talk"} for i, p in enumerate(prompts)]
            _write_json(rows, paths[name] / "Pairwise_set" / "Helpfulness" / "Chat" / "Talk.json")
            continue
        field = "question" if name == "judgebench" else "prompt"
        paths[name] = root / f"{name}.jsonl"
        _write_jsonl([{"id": str(i), field: p} for i, p in enumerate(prompts)], paths[name])
    return paths


def _write_json(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def _write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Write synthetic source folders for a dry run of ``--mix rm_r1``."""
    parser = OneLineParser(prog="python -m testkit.synthetic_sources", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=folder, help="folder to write skywork/, code/ and math/ into")
    parser.add_argument("--scale", type=number(above=0), default=0.01,
                        help="fraction of the paper's row counts (default 0.01)")
    parser.add_argument("--seed", type=seed, default=0, help="generator seed (default 0)")
    args = parser.parse_args(argv)
    for name, where in write_sources(args.out, Sizes.scaled(args.scale), seed=args.seed).items():
        print(f"{name}: {where / HUB_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog="python -m testkit.synthetic_sources"))
