"""Pair cleaning and the ledger that accounts for every input row.

Every row read is either kept or dropped for exactly one reason, counted per source, so a manifest
can show ``rows read == rows kept + sum(dropped)`` for each source. Reasons, in the order they apply:

* ``excluded_subset``: a subset the mix leaves out (Skywork's ``magpie_ultra``);
* ``not_sampled``: outside the mix's seeded sample (Code-Preference-Pairs keeps 8,000);
* ``malformed``: not a usable conversation (wrong types or roles, sides not sharing the prompt, ...);
* ``empty``: an empty prompt, chosen or rejected text;
* ``identical``: chosen and rejected are the same after normalisation (no preference to learn);
* ``duplicate``: the same pair as an earlier one after normalisation (first one kept, across sources);
* ``contaminated``: the prompt overlaps a benchmark prompt (:mod:`data_prep.decontamination`);
* ``too_long``: a judge prompt over the token limit (per variant, :mod:`data_prep.length_filter`).

Normalisation for ``identical`` and ``duplicate``: Unicode NFKC, case folded, runs of whitespace
collapsed. Candidate texts are neutralised (:mod:`data_prep.neutralise`) before the comparisons.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from data_prep.neutralise import neutralise
from data_prep.pairs import Message, PreferencePair

CLEANING_VERSION = "clean-v1"
DROP_REASONS: tuple[str, ...] = (
    "excluded_subset", "not_sampled", "malformed", "empty", "identical", "duplicate", "contaminated", "too_long",
)


@dataclass(frozen=True)
class Dropped:
    """A row that does not become a pair: its source, the reason (one of DROP_REASONS) and a detail."""

    source: str
    reason: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.reason not in DROP_REASONS:
            raise ValueError(f"drop reason {self.reason!r} is not one of {DROP_REASONS}.")


class Ledger:
    """Counts per source: rows read, drops by reason, neutralised texts."""

    def __init__(self) -> None:
        self.read: Counter[str] = Counter()
        self.dropped: dict[str, Counter[str]] = defaultdict(Counter)
        self.neutralised: dict[str, Counter[str]] = defaultdict(Counter)

    def drop(self, source: str, reason: str, n: int = 1) -> None:
        """Count ``n`` rows of ``source`` dropped for ``reason``."""
        if reason not in DROP_REASONS:
            raise ValueError(f"drop reason {reason!r} is not one of {DROP_REASONS}.")
        self.dropped[reason][source] += n

    def dropped_counts(self) -> dict[str, dict[str, int]]:
        """``{reason: {source: n}}`` for every reason (empty dicts included), sources sorted."""
        return {reason: dict(sorted(self.dropped[reason].items())) for reason in DROP_REASONS}

    def neutralised_counts(self) -> dict[str, dict[str, int]]:
        """``{"candidates" | "conversations": {source: n}}``: texts that had markup broken."""
        return {kind: dict(sorted(self.neutralised[kind].items())) for kind in ("candidates", "conversations")}

    def read_counts(self) -> dict[str, int]:
        """Rows read per source, sorted by source."""
        return dict(sorted(self.read.items()))


def normalise_content(text: str) -> str:
    """NFKC, case folded, whitespace runs collapsed to one space, ends stripped."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())


class Cleaner:
    """Neutralises pairs and drops identical and duplicate ones, counting into a :class:`Ledger`."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._seen: set[str] = set()

    def clean(self, pair: PreferencePair) -> PreferencePair | None:
        """The neutralised pair (changed candidates and conversations counted), or None if it was dropped."""
        sides = [tuple(map(_neutral, side)) for side in (pair.conversation, pair.chosen, pair.rejected)]
        if sides != [pair.conversation, pair.chosen, pair.rejected]:
            if sides[0] != pair.conversation:
                self.ledger.neutralised["conversations"][pair.source] += 1
            if changed := (sides[1] != pair.chosen) + (sides[2] != pair.rejected):
                self.ledger.neutralised["candidates"][pair.source] += changed
            pair = replace(pair, conversation=sides[0], chosen=sides[1], rejected=sides[2])
        keys = ["\x1e".join(f"{m['role']}\x1f{normalise_content(m['content'])}" for m in side) for side in sides]
        if keys[1] == keys[2]:
            self.ledger.drop(pair.source, "identical")
            return None
        key = hashlib.blake2b("\x1d".join(keys).encode("utf-8"), digest_size=16).hexdigest()
        if key in self._seen:
            self.ledger.drop(pair.source, "duplicate")
            return None
        self._seen.add(key)
        return pair


def _neutral(message: Message) -> Message:
    text = neutralise(message["content"])
    return message if text == message["content"] else Message(role=message["role"], content=text)
