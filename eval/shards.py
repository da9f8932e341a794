"""Data-parallel eval: split a benchmark's items into disjoint shards, then merge the shards' generations.

    python eval/rewardbench.py --ckpt M --shard 0/4 --out OUT/shard-0      (one per replica, launch/eval.sh)
    python -m eval.shards merge-caches --out OUT/generations.jsonl OUT/shard-*/generations.jsonl
    python eval/rewardbench.py --ckpt M --out OUT                          (every judgment cached: scores only)

Shard ``i/n`` is every n-th item starting at i, AFTER ``--limit``: each item lands in exactly one
shard for any n, sizes differ by at most one, and an item's comparisons and both A/B orders stay
together. The merge is exact by construction: the cache is keyed by the judge's request, so the final
unsharded run finds every generation in the merged cache and only re-scores, through the same code as
a single-process run (the backend loads no model until it must generate).
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from eval.cache import parse_record
from eval.cli_common import EvalParser, check_out_file, is_generation_cache
from eval.errors import EvalError
from infra.atomic_files import write_text_atomic
from infra.output_guard import check_output

T = TypeVar("T")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def take(self, items: Sequence[T]) -> list[T]:
        """The shard's items in their original order."""
        return list(items[self.index::self.count])


def parse_shard(text: str) -> Shard:
    """``"i/n"`` with ``0 <= i < n``; EvalError naming the flag otherwise."""
    match = _SHARD.match(text)
    if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
        raise EvalError(f"--shard {text!r} is not I/N with 0 <= I < N; pass e.g. --shard 0/4 for the first of four.")
    return Shard(int(match.group(1)), int(match.group(2)))


def merge_caches(paths: Sequence[Path], out: Path) -> tuple[int, int]:
    """Write the union of the shard caches to ``out`` (first record per key wins); returns (records, duplicates).

    A shard is its cache file or its report folder (``<folder>/generations.jsonl``). Lines that are not
    cache records (as the cache reads them) are dropped. A missing cache beside a finished shard's
    summary.json is an empty shard; any other missing cache is an error, and so is a merge of two
    judges' generations (their keys could never meet, so the merged run would regenerate).
    """
    lines: dict[str, str] = {}
    judges: dict[str, Path] = {}
    duplicates = 0
    for path in (Path(p) / "generations.jsonl" if Path(p).is_dir() else Path(p) for p in paths):
        if not path.is_file():
            if (path.parent / "summary.json").is_file():
                continue  # the shard finished with nothing to generate (more shards than items)
            raise EvalError(f"shard cache {path} does not exist; did that shard's job finish? Rerun it first.")
        for raw in path.read_bytes().split(b"\n"):
            record = parse_record(raw)
            if record is None:
                continue
            if record.model_id is not None:
                first = judges.setdefault(record.model_id, path)
                if len(judges) > 1:
                    other = next(j for j in judges if j != record.model_id)
                    raise EvalError(f"shard caches {judges[other]} and {first} hold generations of two judges "
                                    f"({other} and {record.model_id}); merge only one judge's shards.")
            duplicates += record.key in lines
            lines.setdefault(record.key, raw.decode("utf-8-sig").rstrip("\r"))  # UTF-8: parse_record read it
    write_text_atomic(out, "".join(line + "\n" for line in lines.values()))
    return len(lines), duplicates


def main(argv: Sequence[str] | None = None) -> int:
    parser = EvalParser(prog="python -m eval.shards", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("merge-caches", help="union of the shards' generations.jsonl files")
    merge.add_argument("--out", type=Path, required=True, help="the merged cache to write (a new file, or an "
                                                               "earlier merge to replace)")
    merge.add_argument("caches", type=Path, nargs="+", help="each shard's generations.jsonl or report folder")
    args = parser.parse_args(argv)
    check_output("--out", args.out, [("a shard", p) for p in args.caches], ours=is_generation_cache)
    records, duplicates = merge_caches(args.caches, check_out_file(str(args.out)))
    print(f"merged {len(args.caches)} shard cache(s) into {args.out}: {records} generations"
          + (f" ({duplicates} duplicate keys dropped)" if duplicates else ""))
    return 0


if __name__ == "__main__":
    from infra.cli_errors import run_cli

    sys.exit(run_cli(main, prog="python -m eval.shards"))
