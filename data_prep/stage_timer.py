"""Wall-clock seconds per build stage (reported by the CLI and the speed benchmark, never in content hashes)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class StageTimer:
    """Accumulates seconds per named stage: ``with timer("read"): ...``."""

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
        """The stages in the order they first ran, rounded for reports."""
        return {stage: round(seconds, digits) for stage, seconds in self.seconds.items()}
