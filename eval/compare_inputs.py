"""The two runs ``eval/compare.py`` reads, checked: every way a report folder can be wrong is one sentence.

A run is a report folder (or its summary.json) with items.jsonl beside it. The summary must carry
what the comparison reads (benchmark, headline conventions, the headline view's sections, model and
input); every item needs a text id (once), a subset the benchmark defines and a finite headline score.
Files are read by :func:`infra.row_files.iter_rows` rules: bytes that are not UTF-8, invalid JSON,
huge integers or deep nesting name the file and line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from eval.benchmark import Benchmark
from eval.errors import EvalError
from eval.summary import Summary
from infra.row_files import RowFileError, iter_rows
from infra.user_json import BadJson, parse_json

SUMMARY, ITEMS = "summary.json", "items.jsonl"
_RERUN = "rerun that evaluation or pass another report folder"


def run_folder(path: str) -> Path:
    """The report folder a run argument names (the folder itself, or the one holding the summary.json named)."""
    return Path(path) if Path(path).is_dir() else Path(path).parent


def load_run(path: str) -> tuple[Summary, dict[str, dict[str, Any]]]:
    """A run's summary and its items (id -> record) from a report folder or summary.json path."""
    target = Path(path)
    summary_path = target / SUMMARY if target.is_dir() else target
    items_path = summary_path.parent / ITEMS
    if summary_path.is_file() and not items_path.is_file() and _benchmark_folders(summary_path.parent):
        raise EvalError(f"{path!r} is eval/run_all.py's combined report; pass one benchmark's folder inside it, "
                        f"e.g. {os.fspath(summary_path.parent / _benchmark_folders(summary_path.parent)[0])!r}.")
    if not summary_path.is_file() or not items_path.is_file():
        raise EvalError(f"{path!r} has no summary.json with items.jsonl beside it; pass a report folder.")
    summary = read_summary(summary_path)
    return summary, read_items(items_path, summary)


def read_summary(path: Path) -> Summary:
    """summary.json as a dict holding every field the comparison reads."""
    try:
        summary = parse_json(path.read_bytes())
    except BadJson as err:  # not UTF-8, not JSON, nested too deeply, a huge integer, NaN
        raise EvalError(f"{os.fspath(path)!r} {err}; {_RERUN}.") from err
    except OSError as err:
        raise EvalError(f"{os.fspath(path)!r} cannot be read ({err.strerror or err}); check its permissions.") from err
    for keys, kind in (((), dict), (("benchmark",), str), (("conventions", "parse_mode"), str),
                       (("conventions", "headline_view"), str), (("metadata", "model"), str),
                       (("metadata", "inputs"), list)):
        _require(summary, keys, kind, path)
    conv = summary["conventions"]
    _require(summary, ("scores", conv["parse_mode"], conv["headline_view"], "sections"), dict, path)
    if not summary["metadata"]["inputs"] or not isinstance(summary["metadata"]["inputs"][0], dict):
        raise EvalError(f"{os.fspath(path)!r} records no input; {_RERUN}.")
    return cast(Summary, summary)  # every field compare reads was checked above


def read_items(path: Path, summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """items.jsonl as id -> record; each record has a text id (once), a subset and a finite headline score."""
    mode, view = summary["conventions"]["parse_mode"], summary["conventions"]["headline_view"]
    items: dict[str, dict[str, Any]] = {}
    try:
        for place, item in iter_rows(path):
            where = f"{os.fspath(path)!r} {place}"
            if not isinstance(item.get("id"), str) or not isinstance(item.get("subset"), str):
                raise EvalError(f"{where} has no text id and subset; {_RERUN}.")
            if item["id"] in items:
                raise EvalError(f"{where} repeats the item id {item['id']!r}; {_RERUN}.")
            score = dig(item, ("scores", mode, view))
            if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
                raise EvalError(f"{where} has no finite {mode}/{view} score (found {score!r}); {_RERUN}.")
            items[item["id"]] = item
    except RowFileError as err:
        raise EvalError(f"{err}") from err
    except OSError as err:
        raise EvalError(f"{os.fspath(path)!r} cannot be read ({err.strerror or err}); check its permissions.") from err
    return items


def check_subsets(items: Mapping[str, Mapping[str, Any]], benchmark: Benchmark, path: str) -> None:
    """Every item's subset is one the benchmark defines (another benchmark's items would score as nothing)."""
    known = {subset for subsets in benchmark.sections.values() for subset in subsets}
    unknown = sorted({item["subset"] for item in items.values()} - known)
    if unknown:
        raise EvalError(f"{path!r} has items in subsets {unknown[:3]} that {benchmark.name} does not define; "
                        f"{_RERUN}.")


def _require(summary: Any, keys: Sequence[str], kind: type, path: Path) -> None:
    if not isinstance(dig(summary, keys), kind):
        field = ".".join(keys) or "the top level"
        raise EvalError(f"{os.fspath(path)!r} lacks {field} ({kind.__name__}); it is not a complete eval report, "
                        f"so {_RERUN}.")


def dig(data: Any, keys: Sequence[str]) -> Any:
    """``data[k1][k2]...``, or None where a level is missing or not a mapping."""
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def _benchmark_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if (p / SUMMARY).is_file() and (p / ITEMS).is_file())
