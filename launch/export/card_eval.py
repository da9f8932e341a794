"""Eval scores in the model card, only with their provenance: ``python -m launch.model_card HF_DIR --eval S``.

A summary goes in only when it judged this folder's own weights (the ``ckpt-<fingerprint>`` of its run's
model id, infra.checkpoint_id); anything else is refused naming both models. Each score keeps what it
covers: the data source and hash, scored and official rows, complete or partial and why, the
generation budget, the parse-failure rate and the prompt version. A field the summary lacks counts as
unknown, and a run is complete only when the summary says so twice (``complete`` and its coverage), so
a ``--limit``, ``--shard`` or fixture run is listed as partial, never as a benchmark result, and never
replaces a complete score.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from infra.atomic_files import write_text_atomic
from infra.checkpoint_id import checkpoint_fingerprint
from infra.cli_errors import OneLineParser
from infra.model_card import CARD_FILE, CardError, facts_of, read_block, render
from infra.user_json import BadJson, parse_json

_CKPT_ID = re.compile(r"ckpt-([0-9a-f]{24,64})")
COUNT_KEYS = ("items", "judgments")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def judged_here(model: Any, folder: Path, summary: Path) -> None:
    """CardError unless the summary's model id names this folder's weights."""
    mine = checkpoint_fingerprint(folder)[:24]
    found = _CKPT_ID.search(str(model or ""))
    if found and found.group(1)[:24] == mine:
        return
    raise CardError(f"eval summary {summary} judged {str(model or 'an unrecorded model')[:120]!r}, not this card's "
                    f"model {folder} (ckpt-{mine}); pass a summary of a run with --ckpt {folder}.")


def eval_entry(summary: dict[str, Any], folder: Path, path: Path) -> tuple[str, dict[str, Any]]:
    """``(benchmark, entry)``: the summary's headline with its provenance (CardError when it is not a summary)."""
    name, score = summary.get("benchmark"), summary.get("score")
    if not isinstance(name, str) or "score" not in summary:
        raise CardError(f"eval summary {path} has no 'benchmark' and 'score'; pass the summary.json an eval CLI "
                        "wrote.")
    meta, cov = _dict(summary.get("metadata")), _dict(summary.get("coverage"))
    judged_here(meta.get("model"), folder, path)
    complete = summary.get("complete") is True and cov.get("complete") is True and isinstance(score, (int, float))
    data = _dict((meta.get("inputs") or [None])[0])
    mode = _dict(summary.get("conventions")).get("parse_mode") or "strict"
    entry = {
        "score": score, "complete": complete,
        "partial": None if complete else [str(r) for r in cov.get("partial") or []] or ["not stated as complete"],
        "data": {k: v for k, v in (("source", data.get("name")), ("revision", data.get("revision")),
                                   ("sha256", data.get("sha256"))) if v} or None,
        "split": cov.get("split"),
        "rows": {k: cov[k] for k in ("scored", "official") if k in cov} or None,
        "counts": {k: v for k, v in _dict(meta.get("counts")).items() if k in COUNT_KEYS} or None,
        "max_new_tokens": _dict(meta.get("sampling")).get("max_new_tokens"),
        "parse_failure_rate": _dict(_dict(summary.get("failures")).get(mode)).get("parse_failure_rate"),
        "prompt_version": meta.get("prompt_version"),
        "judge": meta.get("model"),
    }
    return name, {k: v for k, v in entry.items() if v is not None}


def add_eval(folder: str | Path, summary_path: str | Path) -> Path:
    """Record a summary's score in the folder's card; a partial run never replaces a complete score."""
    folder, summary_path = Path(folder), Path(summary_path)
    try:
        summary = parse_json(summary_path.read_bytes())
    except (OSError, BadJson) as err:
        why = err.strerror if isinstance(err, OSError) else err
        raise CardError(f"eval summary {summary_path} cannot be read ({why}); pass the summary.json of a "
                        "run.") from None
    facts = facts_of(folder)
    name, entry = eval_entry(summary if isinstance(summary, dict) else {}, folder, summary_path)
    kept = facts.eval.get(name) or {}
    if kept.get("complete") is True and not entry["complete"]:
        print(f"warning: {folder / CARD_FILE} keeps its complete {name} score; {summary_path} is partial "
              f"({'; '.join(entry['partial'])[:200]}) and does not replace it", file=sys.stderr, flush=True)
        return folder / CARD_FILE
    facts.eval = {**facts.eval, name: entry}
    return write_text_atomic(folder / CARD_FILE, render(facts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m launch.model_card", description=__doc__.splitlines()[0],
                           error_class=CardError)
    parser.add_argument("folder", type=Path, help="an exported model folder (python -m launch.export --out)")
    parser.add_argument("--eval", dest="summaries", type=Path, action="append", default=[], metavar="SUMMARY.json",
                        help="record this eval summary's score and provenance in the card (repeatable)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        what = "is a file" if args.folder.exists() else "does not exist"
        raise CardError(f"{args.folder} {what}; pass the folder python -m launch.export wrote.")
    if not read_block(args.folder):
        raise CardError(f"{args.folder} has no model card of this project ({CARD_FILE} with rm_r1); export the "
                        "checkpoint with python -m launch.export first.")
    for summary in args.summaries:
        add_eval(args.folder, summary)
    print(yaml.safe_dump(read_block(args.folder), sort_keys=False), end="")
    return 0
