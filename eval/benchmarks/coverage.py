"""What a run scored against the official set: rows per group, partial or complete, skipped and degenerate rows.

A run is complete only when every group with a published count (a RewardBench subset, an RM-Bench
domain, a JudgeBench split, RMB's 98 files and best-of-N counts) holds exactly that many scored rows
and no row was skipped; ``--limit``, ``--shard``, a missing file or a skipped row make it partial, and
the headline says so with the counts. A group whose count is not published is listed as unknown.

>>> from eval.benchmark import Benchmark, BenchmarkData, Item, Official
>>> from infra.run_metadata import InputRef
>>> bench = Benchmark("demo", "t", None, None, None, {}, "", None, None, official=Official({"test": {"a": 2}}))
>>> data = BenchmarkData([Item("1", "a")], InputRef("x", None, "0"), 1, "test")
>>> cov = coverage(bench, data)
>>> cov["complete"], cov["scored"], cov["official"], cov["partial"]
(False, 1, 2, ['a 1 of 2'])
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from eval.benchmark import Benchmark, BenchmarkData

LISTED = 100  # ids and skipped rows listed in summary.json (the counts are always complete)


def coverage(benchmark: Benchmark, data: BenchmarkData) -> dict[str, Any]:
    """``complete``, scored and official row counts, each group's counts, why the run is partial, skipped and
    degenerate rows (ids of the items this run scored)."""
    official = benchmark.official.counts.get(data.split)
    scored = benchmark.official.census(data.items)
    partial: list[str] = [] if official is not None else [f"split {data.split!r} has no official count"]
    groups: dict[str, dict[str, int | None]] = {}
    for group, want in (official or {}).items():
        got = scored.get(group, 0)
        groups[group] = {"scored": got, "official": want}
        if want is not None and got != want:
            partial.append(f"{group} {got} of {want}")
    groups |= {g: {"scored": n, "official": None} for g, n in scored.items() if g not in groups}
    if data.skipped:
        partial.append(f"{len(data.skipped)} rows skipped (no judge request could be rendered)")
    kept = {item.id for item in data.items}
    degenerate = {i: reasons for i, reasons in data.degenerate.items() if i in kept}
    counts = list((official or {}).values())
    return {
        "complete": not partial,
        "split": data.split,
        "scored": len(data.items),
        "official": sum(c for c in counts if c is not None) if counts and None not in counts else None,
        "groups": groups,
        "partial": partial,
        "skipped": {"count": len(data.skipped), "rows": [f"{where}: {why}" for where, why in data.skipped[:LISTED]]},
        "degenerate": {"count": len(degenerate),
                       "reasons": dict(Counter(r for reasons in degenerate.values() for r in reasons)),
                       "ids": list(degenerate)[:LISTED]},
    }
