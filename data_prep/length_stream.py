"""Measure judge prompts in a helper thread while the build is still reading its inputs.

Tokenization is the build's one big cost and runs in Rust with the GIL released, while reading,
cleaning and decontaminating are Python on one core. :class:`BackgroundLengths` takes each kept pair
as it comes, and every ``DEFAULT_CHUNK`` pairs a helper thread renders both A/B orders for every variant
and batch-encodes them on all cores, so the two overlap and both cores stay busy. Only the counts are
kept (the pairs are in memory anyway), so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from data_prep.length_filter import DEFAULT_CHUNK, PromptLengthFilter
from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate


class BackgroundLengths:
    """The longer A/B prompt length of every added pair, per variant, computed in a helper thread.

    Use as a context manager; :meth:`add` pairs, then :meth:`lengths` waits for the rest.
    """

    def __init__(self, length_filter: PromptLengthFilter, templates: Mapping[str, PromptTemplate]) -> None:
        self.length_filter = length_filter
        self.templates = dict(templates)
        self._buffer: list[PreferencePair] = []
        self._pending: list[tuple[list[PreferencePair], Future[dict[str, list[int]]]]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure")

    def __enter__(self) -> BackgroundLengths:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, pair: PreferencePair) -> None:
        """Queue ``pair``; a full chunk goes to the helper thread."""
        self._buffer.append(pair)
        if len(self._buffer) >= DEFAULT_CHUNK:
            self._submit()

    def lengths(self, on_chunk: Callable[[int], None] | None = None) -> dict[str, dict[str, int]]:
        """``{variant: {pair id: longest prompt}}`` for every added pair (waits for the helper)."""
        self._submit()
        out: dict[str, dict[str, int]] = {variant: {} for variant in self.templates}
        for pairs, future in self._pending:
            for variant, lengths in future.result().items():
                out[variant].update(zip((p.id for p in pairs), lengths, strict=True))
            if on_chunk is not None:
                on_chunk(len(pairs))
        return out

    def queued(self) -> int:
        """Pairs added so far."""
        return sum(len(pairs) for pairs, _ in self._pending) + len(self._buffer)

    def _submit(self) -> None:
        if self._buffer:
            chunk, self._buffer = self._buffer, []
            self._pending.append((chunk, self._pool.submit(self._measure, chunk)))

    def _measure(self, pairs: list[PreferencePair]) -> dict[str, list[int]]:
        return {variant: self.length_filter.longest_of_chunk(pairs, template)
                for variant, template in self.templates.items()}
