"""One table across judge runs: models x benchmarks, each score with its bootstrap interval.

    python eval/leaderboard.py outputs/eval/all/model-a outputs/eval/all/model-b
    python eval/leaderboard.py RUN... --out leaderboard/        # leaderboard.md and leaderboard.png there

Each RUN is an ``eval/run_all.py`` output folder (or one benchmark's report folder). A row is a run, a
column a benchmark; a cell is the run's headline score with a 95% percentile interval from resampling
its items within each subset and applying the benchmark's official aggregation to every resample.

Published numbers mix protocols; this table does not. The protocol of a score is its prompt version,
order policy, parse mode, parse-failure score, generation budget and votes per comparison; runs whose
protocols differ are refused in one column unless ``--allow-mixed`` (then each differing cell is
marked and its protocol listed). The shared protocol is stated once above the table.
Exit status: 0 done, 1 the --out write failed, 2 a bad flag or run folder (one sentence), 130 interrupted.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.cli_common import EvalParser
from eval.compare_inputs import SUMMARY, dig, load_run
from eval.errors import EvalError
from eval.plots import pyplot, save
from eval.report_text import pct, table
from eval.resample import paired_bootstrap
from eval.session import benchmark_named
from infra import cli_flags
from infra.atomic_files import write_text_atomic
from infra.cli_errors import run_cli
from infra.output_guard import check_output

PROG = "python eval/leaderboard.py"
MARKDOWN, PNG = "leaderboard.md", "leaderboard.png"
# (name, where it is in a benchmark's summary.json, its value when the run predates it)
PROTOCOL: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    ("prompt version", ("metadata", "prompt_version"), None),
    ("order", ("conventions", "order"), None),
    ("parse mode", ("conventions", "parse_mode"), None),
    ("parse-failure score", ("conventions", "parse_failure_score"), None),
    ("budget", ("metadata", "sampling", "max_new_tokens"), None),
    ("votes", ("conventions", "votes"), 1),
)


@dataclass(frozen=True)
class Cell:
    """One run's score on one benchmark, its interval and protocol."""

    score: float | None
    low: float | None
    high: float | None
    complete: bool
    protocol: tuple[tuple[str, Any], ...]


def protocol_of(summary: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The protocol fields of one benchmark's summary.json."""
    out = []
    for name, keys, default in PROTOCOL:
        value = dig(summary, keys)
        out.append((name, default if value is None else value))
    return tuple(out)


def benchmark_folders(run: str) -> dict[str, Path]:
    """Benchmark name -> report folder of one RUN (a run_all folder, or one benchmark's report folder)."""
    folder = Path(run)
    summary_path = folder / SUMMARY if folder.is_dir() else folder
    if not summary_path.is_file():
        raise EvalError(f"RUN {run!r} has no summary.json; pass an eval/run_all.py output folder.")
    summary = _read_json(summary_path)
    if isinstance(summary.get("benchmark"), str):
        return {summary["benchmark"]: summary_path.parent}
    names = summary.get("benchmarks")
    if not isinstance(names, dict) or not names:
        raise EvalError(f"RUN {run!r} has a summary.json with no benchmark in it; pass an eval/run_all.py output "
                        "folder.")
    return {name: summary_path.parent / name for name in names}


def cell(folder: Path, resamples: int, seed: int) -> tuple[str, Cell]:
    """(benchmark, cell) of one benchmark report folder: the headline and its bootstrap interval."""
    summary, items = load_run(os.fspath(folder))
    benchmark = benchmark_named(summary["benchmark"])
    mode, view = summary["conventions"]["parse_mode"], summary["conventions"]["headline_view"]
    by_subset: dict[str, list[tuple[float, float]]] = {}
    for item in items.values():  # (0, score): the paired bootstrap's difference is then the score itself
        by_subset.setdefault(item["subset"], []).append((0.0, float(item["scores"][mode][view])))
    interval = paired_bootstrap(by_subset, benchmark.section_scores, benchmark.overall_score,
                                resamples=resamples, seed=seed)["overall"]
    return summary["benchmark"], Cell(summary.get("score"), interval.low, interval.high,
                                      bool(summary.get("complete")), protocol_of(summary))


def check_protocols(table: Mapping[str, Mapping[str, Cell]], allow_mixed: bool) -> dict[str, tuple[Any, ...]]:
    """Each benchmark's protocols (the most common first); two in one column are refused unless allowed."""
    columns: dict[str, list[tuple[Any, ...]]] = {}
    for cells in table.values():
        for name, c in cells.items():
            columns.setdefault(name, []).append(c.protocol)
    out = {}
    for name, protocols in columns.items():
        distinct = sorted(set(protocols), key=lambda p: (-protocols.count(p), repr(p)))
        if len(distinct) > 1 and not allow_mixed:
            differing = [f for f, _, _ in PROTOCOL if len({dict(p)[f] for p in distinct}) > 1]
            raise EvalError(f"the runs' {name} scores were made under different protocols ({', '.join(differing)}), "
                            "so one column would compare unlike numbers; rerun them alike or pass --allow-mixed.")
        out[name] = tuple(distinct)
    return out


def render(scores: Mapping[str, Mapping[str, Cell]], protocols: Mapping[str, tuple[Any, ...]]) -> str:
    """The markdown leaderboard: the protocol once, then models x benchmarks (score [low, high])."""
    names = list(dict.fromkeys(name for cells in scores.values() for name in cells))
    common = {p[0] for p in protocols.values()}
    lines = ["# Leaderboard", ""]
    if len(common) == 1:
        every = all(len(p) == 1 for p in protocols.values())
        lines.append(f"Protocol ({'every score' if every else 'unmarked scores'} below): "
                     + _protocol_text(next(iter(common))) + ".")
    else:
        lines.append("Protocol per benchmark (its most common; differing cells are marked):")
        lines += [f"- {name}: {_protocol_text(p[0])}" for name, p in protocols.items()]
    lines += ["", "Scores are percentages with a 95% bootstrap interval over the run's items (resampled within "
              "subsets, official aggregation); * marks a run that is not the complete official set.", ""]
    marks: dict[tuple[Any, ...], str] = {}

    def text(c: Cell | None, name: str) -> str:
        if c is None:
            return "-"
        shown = f"{pct(c.score)} [{pct(c.low)}, {pct(c.high)}]" + ("" if c.complete else "*")
        if c.protocol != protocols[name][0]:
            shown += f" ({marks.setdefault(c.protocol, chr(ord('a') + len(marks)))})"
        return shown

    lines += table(["model", *names], [[model, *(text(cells.get(n), n) for n in names)]
                                       for model, cells in scores.items()])
    if marks:
        lines += ["", "Cells under another protocol (--allow-mixed):", ""]
        lines += [f"- ({mark}) {_protocol_text(protocol)}" for protocol, mark in marks.items()]
    return "\n".join(lines) + "\n"


def _protocol_text(protocol: tuple[tuple[str, Any], ...]) -> str:
    return "; ".join(f"{name} {value}" for name, value in protocol)


def plot(table: Mapping[str, Mapping[str, Cell]], target: Path) -> Path | None:
    """Grouped bars (a group per benchmark, a bar per model) with interval whiskers; None without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    names = list(dict.fromkeys(name for cells in table.values() for name in cells))
    width = 0.8 / len(table)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) * max(1, len(table) / 2) + 2), 4.2), dpi=100)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.12)
    for i, (model, cells) in enumerate(table.items()):
        xs = [j + (i - (len(table) - 1) / 2) * width for j in range(len(names))]
        got = [cells.get(n) for n in names]
        ys = [100 * (c.score or 0.0) if c else 0.0 for c in got]
        errors = [[100 * max(0.0, (c.score or 0) - (c.low if c.low is not None else c.score or 0)) if c else 0.0
                   for c in got],
                  [100 * max(0.0, (c.high if c.high is not None else c.score or 0) - (c.score or 0)) if c else 0.0
                   for c in got]]
        ax.bar(xs, ys, width, yerr=errors, capsize=3, label=model)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylim(0, 114)
    ax.set_ylabel("score (%)")
    ax.set_title("Leaderboard (95% bootstrap intervals)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", ncol=min(4, len(table)), frameon=False)
    return save(plt, fig, target)


def build(runs: Sequence[str], resamples: int, seed: int) -> dict[str, dict[str, Cell]]:
    """Row label (the run folder's name, or its path when two share a name) -> benchmark -> cell."""
    labels = [Path(r).resolve().name for r in runs]
    table: dict[str, dict[str, Cell]] = {}
    for run, label in zip(runs, labels, strict=True):
        key = label if labels.count(label) == 1 else run
        if key in table:
            raise EvalError(f"RUN {run!r} is given twice; pass each run once.")
        table[key] = dict(cell(folder, resamples, seed) for folder in benchmark_folders(run).values())
    return table


def make_parser() -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN", type=cli_flags.location,
                        help="eval/run_all.py output folders (or single benchmark report folders)")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="put runs of different protocols in one column (each differing cell is marked)")
    parser.add_argument("--out", type=cli_flags.folder, help=f"write {MARKDOWN} and {PNG} into this folder")
    parser.add_argument("--resamples", type=cli_flags.whole(least=100, most=100_000), default=2000,
                        help="bootstrap resamples per cell (default 2000)")
    parser.add_argument("--seed", type=cli_flags.seed, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--no-plots", action="store_true", help=f"skip {PNG}")
    return parser


def _is_ours(path: Path) -> bool:
    return path.is_dir() and ((path / MARKDOWN).is_file() or not any(path.iterdir()))


def run(args: argparse.Namespace) -> int:
    runs = [os.fspath(r) for r in args.runs]
    if args.out is not None:
        check_output("--out", args.out, [("RUN", r) for r in runs], ours=_is_ours)
    table = build(runs, args.resamples, args.seed)
    text = render(table, check_protocols(table, args.allow_mixed))
    print(text, end="")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out / MARKDOWN, text)
        if not args.no_plots and plot(table, args.out / PNG) is None:
            print("plot skipped: matplotlib is not installed", file=sys.stderr)
    return 0


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise EvalError(f"{os.fspath(path)!r} is not readable JSON ({type(err).__name__}); rerun that evaluation.") \
            from err
    if not isinstance(data, dict):
        raise EvalError(f"{os.fspath(path)!r} is not a summary (not a JSON object); rerun that evaluation.")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
