"""Stage one of a build: every input row read, cleaned, decontaminated and accounted for, in one pass.

All locations are resolved and the benchmark prompts indexed before any row is read, so a missing
source or an unpinned hub name fails at once. Each kept pair is handed to ``on_kept`` as it comes (the
build measures prompt lengths meanwhile).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_prep.adapters import read_local_pairs
from data_prep.adapters.hub import resolve_source, source_items
from data_prep.benchmark_prompts import benchmark_prompts, resolve_benchmark
from data_prep.cleaning import Cleaner, Dropped, Ledger
from data_prep.decontamination import MIN_TURN_WORDS, BenchmarkIndex, is_contaminated
from data_prep.errors import BuildError
from data_prep.options import BuildOptions
from data_prep.pairs import PreferencePair
from data_prep.robustness.defence import Defended
from data_prep.source_files import ResolvedFiles
from infra.run_metadata import InputRef, sha256_file


class StageTimer:
    """Wall-clock seconds per named stage (``with timer("read"): ...``), for reports, never in content hashes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def rounded(self, digits: int = 3) -> dict[str, float]:
        """The stages in the order they first ran, rounded."""
        return {stage: round(seconds, digits) for stage, seconds in self.seconds.items()}


@dataclass
class Collected:
    """The cleaned pairs and everything the manifests record about how they were obtained."""

    pairs: list[PreferencePair]
    ledger: Ledger
    inputs: list[InputRef] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    decontamination: dict[str, Any] | None = None
    adversarial: dict[str, Any] | None = None  # the defence pairs added (--adversarial), for the manifest


def collect(options: BuildOptions, timer: StageTimer | None = None,
            on_kept: Callable[[PreferencePair], None] | None = None) -> Collected:
    """Read, clean and decontaminate every input of ``options``; ``on_kept(pair)`` sees each kept pair."""
    timer = timer or StageTimer()
    with timer("resolve"):
        mix_sources = options.mix.sources if options.mix else ()
        resolved = [(s, resolve_source(s)) for s in mix_sources]
        benchmarks = [(b, resolve_benchmark(b)) for b in options.benchmarks]
    collected = Collected(
        pairs=[], ledger=Ledger(),
        inputs=[InputRef(name=s.location, revision=None, sha256=sha256_file(s.location)) for s in options.inputs]
        + [f.input_ref for _, f in resolved],
        sources=[s.describe() | {"resolved_revision": f.revision, "files": len(f.files)} for s, f in resolved],
    )
    index = None
    if benchmarks:
        with timer("load_benchmarks"):
            index = _benchmark_index(collected, options, benchmarks)
    ledger, cleaner = collected.ledger, Cleaner(collected.ledger)
    defended = Defended(options.adversarial_fraction, options.seed)  # each defence pair right after its source
    inputs: list[tuple[Iterable[PreferencePair | Dropped], str]] = [
        (read_local_pairs(spec.location, spec.source), Path(spec.location).name) for spec in options.inputs]
    inputs += [(source_items(source, files), f"source {source.name}") for source, files in resolved]
    with timer("read_clean_decontaminate"):
        for items, name in inputs:
            for item in tqdm(defended(items), desc=f"read {name}", unit=" rows", disable=not options.progress,
                             mininterval=0.5):
                ledger.read[item.source] += 1
                if isinstance(item, Dropped):
                    ledger.drop(item.source, item.reason)
                elif (pair := cleaner.clean(item)) is None:
                    continue  # identical or duplicate, counted by the cleaner
                elif index is not None and is_contaminated(pair, index):
                    ledger.drop(pair.source, "contaminated")
                else:
                    collected.pairs.append(pair)
                    if on_kept is not None:
                        on_kept(pair)
    collected.adversarial = defended.record()
    if index is not None and collected.decontamination is not None:
        collected.decontamination["counts"] = {name: stats.as_dict() for name, stats in sorted(index.stats.items())}
    _check_ids(collected.pairs)
    return collected


def _check_ids(pairs: Sequence[PreferencePair]) -> None:
    seen: dict[str, PreferencePair] = {}
    for pair in pairs:
        first = seen.setdefault(pair.id, pair)
        if first is not pair:
            raise BuildError(f"pair id {pair.id!r} names two different pairs (sources {first.source!r} and "
                             f"{pair.source!r}); make the ids unique or drop the 'id' column to use content hashes.")


def _benchmark_index(collected: Collected, options: BuildOptions,
                     benchmarks: Sequence[tuple[Any, ResolvedFiles]]) -> BenchmarkIndex:
    index = BenchmarkIndex(n=options.decontam_ngram, threshold=options.decontam_threshold)
    for spec, files in benchmarks:
        index.add(spec.name, benchmark_prompts(spec, files))
        collected.inputs.append(InputRef(name=f"{spec.name}={files.name}", revision=files.revision,
                                         sha256=files.sha256))
    collected.decontamination = {
        "benchmarks": [{"name": spec.name, "location": files.name, "revision": files.revision}
                       for spec, files in benchmarks],
        "ngram": index.n,
        "threshold": index.threshold,
        "min_turn_words": MIN_TURN_WORDS,
        "counts": {},
    }
    return index
