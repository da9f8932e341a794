"""Retry timing for the chat client: exponential backoff with jitter, Retry-After, a requests-per-minute pace.

Pure functions and one small pacing class, so the timing rules are tested without a network.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): "equal jitter" in [d/2, d], d = min(cap, base * 2**attempt).

    Half the delay is fixed so the wait grows reliably; the random half spreads out clients that
    failed together, so they do not all come back at the same instant.

    >>> 0.5 <= backoff_delay(0, 1.0, 60.0, random.Random(0)) <= 1.0
    True
    """
    if attempt < 0 or base_s < 0 or cap_s < 0:
        raise ValueError(f"backoff needs attempt >= 0 and non-negative times, got {attempt}, {base_s}, {cap_s}.")
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 64))  # min(): 2**1000 would overflow to inf * 0 = nan
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a server asked us to wait: ``Retry-After`` as seconds (int or float) or an HTTP date.

    Returns None for a missing, negative, non-finite or unreadable value (the caller then backs off).

    >>> parse_retry_after("2"), parse_retry_after("0.5"), parse_retry_after("soon")
    (2.0, 0.5, None)
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until_date(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RequestPacer:
    """Spaces request starts evenly: at most ``per_minute`` starts in any 60 seconds, never a burst.

    Even spacing (rather than a bucket that allows a burst of ``per_minute`` at once) is what providers'
    per-minute limits tolerate best, and it makes the bound easy to check. Use from one event loop.
    """

    def __init__(self, per_minute: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute is not None and not per_minute > 0:
            raise ValueError(f"requests_per_minute={per_minute!r} must be a positive number or None (no limit).")
        self.interval_s = 60.0 / per_minute if per_minute else 0.0
        self._clock = clock
        self._next = -math.inf

    def claim(self) -> float:
        """Reserve the next start slot; returns how many seconds to wait for it (0 if due now)."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval_s
        return slot - now

    async def wait(self) -> None:
        """Sleep until this caller's start slot."""
        delay = self.claim()
        if delay > 0:
            await asyncio.sleep(delay)
