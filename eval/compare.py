"""Put two evaluation runs side by side: per-section scores, differences and a paired bootstrap interval.

    python eval/compare.py outputs/eval/rewardbench/model-a outputs/eval/rewardbench/model-b
    python eval/compare.py A/summary.json B/summary.json --resamples 5000 --out compare.md

Each argument is a report folder or its summary.json (items.jsonl must sit beside it). Each run is
scored with its own headline convention (parse mode, view); when the two runs' conventions, prompt
versions or data differ the table says so first, because the difference then is not like for like.
The interval resamples the items the two runs share, within each subset, with the same items for both
runs, and applies the benchmark's official aggregation to every resample.
Exit status: 0 done, 1 the --out write failed (a full disk), 2 a bad flag or run folder (one sentence),
130 interrupted.
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
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.cli_common import EvalParser, check_out_file
from eval.compare_inputs import check_subsets, dig, load_run, run_folder
from eval.errors import EvalError
from eval.report_text import headline_scores, pct, signed_pct, table
from eval.resample import Interval, paired_bootstrap
from eval.session import benchmark_named
from infra.atomic_files import write_text_atomic
from infra.cli_errors import run_cli
from infra.cli_flags import number, seed, whole
from infra.output_guard import check_output

# Differences that change what the score means: compare refuses them unless --allow-different.
_CONVENTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("parse mode", ("conventions", "parse_mode")),
    ("prompt variant", ("metadata", "config", "prompt", "variant")),
    ("prompt template", ("metadata", "config", "prompt", "name")),
    ("prompt sha256", ("metadata", "config", "prompt", "sha256")),
    ("prompt version", ("metadata", "prompt_version")),
    ("verdict format", ("metadata", "verdict_format_version")),
    ("order", ("conventions", "order")),
    ("headline view", ("conventions", "headline_view")),
    ("parse-failure score", ("conventions", "parse_failure_score")),
)
_NOTED: tuple[tuple[str, tuple[str, ...]], ...] = (("limit", ("conventions", "limit")),
                                                   ("sampling", ("metadata", "sampling")))


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(differences that make the scores incomparable, other differences worth a note), each named."""
    blocking = [f"{name}: {va} vs {vb}" for name, va, vb in _pairs(a, b, _CONVENTIONS) if va != vb]
    notes = [f"{name}: {va} vs {vb}" for name, va, vb in _pairs(a, b, _NOTED) if va != vb]
    if a["metadata"]["inputs"][0].get("sha256") != b["metadata"]["inputs"][0].get("sha256"):
        notes.append("data: different rows (sha256 differs)")
    return blocking, notes


def _pairs(a: Mapping[str, Any], b: Mapping[str, Any],
           fields: Sequence[tuple[str, tuple[str, ...]]]) -> list[tuple[str, Any, Any]]:
    return [(name, dig(a, path), dig(b, path)) for name, path in fields]


def compare(path_a: str, path_b: str, *, resamples: int = 2000, seed: int = 0, confidence: float = 0.95,
            allow_different: bool = False) -> str:
    """The comparison as markdown; runs judged under different conventions are refused unless allowed."""
    summary_a, items_a = load_run(path_a)
    summary_b, items_b = load_run(path_b)
    blocking, notes = differences(summary_a, summary_b)
    if blocking and not allow_different:
        raise EvalError(f"the runs differ in {'; '.join(blocking)}, so their scores are not like for like; "
                        "rerun one to match, or pass --allow-different to compare anyway.")
    if blocking:
        print(f"WARNING: not like for like: {'; '.join(blocking)}", file=sys.stderr)
    if summary_a["benchmark"] != summary_b["benchmark"]:
        raise EvalError(f"the runs are of different benchmarks ({summary_a['benchmark']} vs "
                        f"{summary_b['benchmark']}); compare runs of one benchmark.")
    benchmark = benchmark_named(summary_a["benchmark"])
    check_subsets(items_a, benchmark, path_a)
    check_subsets(items_b, benchmark, path_b)
    common = sorted(set(items_a) & set(items_b))
    if not common:
        raise EvalError("the two runs share no item ids; compare runs on the same benchmark data.")
    pairs: dict[str, list[tuple[float, float]]] = {}
    for item_id in common:
        pairs.setdefault(items_a[item_id]["subset"], []).append(
            (_headline(summary_a, items_a[item_id]), _headline(summary_b, items_b[item_id])))
    intervals = paired_bootstrap(pairs, benchmark.section_scores, benchmark.overall_score, resamples=resamples,
                                 seed=seed, confidence=confidence)
    lines = [f"- NOT LIKE FOR LIKE: {note}" for note in blocking] + [f"- differs: {note}" for note in notes]
    if len(common) != len(items_a) or len(common) != len(items_b):
        lines.append(f"- items: {len(items_a)} in A, {len(items_b)} in B; the intervals use the {len(common)} they "
                     "share")
    return _render(summary_a, summary_b, path_a, path_b, lines, intervals, resamples, seed, confidence,
                   benchmark.score_label)


def _headline(summary: Mapping[str, Any], item: Mapping[str, Any]) -> float:
    conv = summary["conventions"]
    return float(item["scores"][conv["parse_mode"]][conv["headline_view"]])


def _render(a: Mapping[str, Any], b: Mapping[str, Any], name_a: str, name_b: str, notes: list[str],
            intervals: Mapping[str, Interval], resamples: int, seed: int, confidence: float, score_label: str) -> str:
    sa, sb = headline_scores(a), headline_scores(b)
    level = f"{100 * confidence:g}%"
    lines = [f"# {a['benchmark']}: A = {a['metadata']['model']} vs B = {b['metadata']['model']}", "",
             f"- A: `{name_a}`", f"- B: `{name_b}`", *notes]
    rows = []
    for name in [*sa["sections"], "overall"]:
        va, vb = (sa["overall"], sb["overall"]) if name == "overall" else (sa["sections"][name], sb["sections"][name])
        ci = intervals[name]
        band = "—" if ci.low is None else f"[{signed_pct(ci.low)}, {signed_pct(ci.high)}]"
        label = f"**{score_label}**" if name == "overall" else name
        rows.append((label, pct(va), pct(vb), signed_pct(_diff(va, vb)), band))
    lines += ["", *table(("section", "A", "B", "B − A", f"{level} interval (paired bootstrap)"), rows)]
    lines.append(f"| micro mean (not the score) | {pct(sa['micro_mean'])} | {pct(sb['micro_mean'])} | "
                 f"{signed_pct(_diff(sa['micro_mean'], sb['micro_mean']))} | |")
    lines += ["", f"Bootstrap: {resamples} resamples of the shared items within each subset, seed {seed}; "
              "each run scored with its own headline convention."]
    return "\n".join(lines) + "\n"


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


PROG = "python eval/compare.py"
_HEADER = re.compile(rb"# [^\n]*: A = ")  # the first line every comparison this tool writes starts with


def _is_comparison(path: Path) -> bool:
    """An earlier comparison this tool wrote (its header line), which a rerun may replace."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return _HEADER.match(handle.read(4096)) is not None


def make_parser() -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", help="report folder (or summary.json) of run A")
    parser.add_argument("run_b", help="report folder (or summary.json) of run B")
    # the bootstrap costs resamples x items: a typo of 10^9 would never end
    parser.add_argument("--resamples", type=whole(least=100, most=100_000), default=2000,
                        help="bootstrap resamples, 100 to 100,000 (default 2000)")
    parser.add_argument("--seed", type=seed, default=0, help="bootstrap seed, 0 or more (default 0)")
    parser.add_argument("--confidence", type=number(above=0, below=1), default=0.95,
                        help="interval level (default 0.95)")
    parser.add_argument("--out", help="also write the markdown table to this file (a new file, or an earlier "
                                      "comparison to replace; never inside either run)")
    parser.add_argument("--allow-different", action="store_true",
                        help="compare runs judged with different prompts, parse modes, orders or failure scores "
                             "(refused by default; the table and stderr then say how they differ)")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    args = make_parser().parse_args(argv)
    if args.out:  # before the work, so a bad --out costs nothing
        runs = [("a compared run", run_folder(path)) for path in (args.run_a, args.run_b)]
        check_output("--out", args.out, runs, ours=_is_comparison)
        check_out_file(args.out)
    text = compare(args.run_a, args.run_b, resamples=args.resamples, seed=args.seed, confidence=args.confidence,
                   allow_different=args.allow_different)
    if args.out:
        write_text_atomic(args.out, text)
    print(text, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run under the shared error convention: 0 done, 2 a bad flag or run folder, 1 a failed write."""
    return run_cli(_main, argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
