"""Defence pairs for training data: the losing side is a master key, a cut-off opening, or carries an injection.

A pure, seeded function over ordinary preference pairs, using only the DEFENCE part of
:mod:`data_prep.robustness.library` (never a text the robustness suite scores). Each defence pair
keeps the source pair's conversation and better answer as ``chosen`` and replaces ``rejected`` by
the attack, so the label (which side must win) is the chosen side, as for every training pair;
``metadata["defence"]`` names the kind and the library version. Decontamination, the length filter
and neutralisation apply to these pairs exactly as to every other pair, downstream.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from data_prep.pairs import Message, PreferencePair
from data_prep.robustness.library import DEFENCE, LIBRARY_VERSION, fill

KINDS: tuple[str, ...] = ("master_key", "truncated", "injection")
T = TypeVar("T")
_FIRST_SENTENCE = re.compile(r"\s*[^.!?\n]*[.!?\n]")


@dataclass(frozen=True)
class DefenceSet:
    """The defence pairs and their counts per kind (for the data manifest)."""

    pairs: list[PreferencePair]
    counts: dict[str, int]
    seed: int
    fraction: float
    library_version: str = LIBRARY_VERSION


def seeded_rng(seed: int, *parts: str) -> random.Random:
    """A Random drawn from the seed and a purpose string: independent of order and of other pairs."""
    return random.Random(hashlib.sha256(":".join((str(seed), *parts)).encode()).digest())


def truncated_opening(text: str) -> str:
    """The first sentence of ``text`` cut off before its end (an answer that starts and never says anything)."""
    found = _FIRST_SENTENCE.match(text)
    sentence = (found.group(0) if found else text).strip()
    words = sentence.split()
    return " ".join(words[: max(1, len(words) // 2)]) if words else ""


def defence_pairs(pairs: Sequence[PreferencePair], fraction: float, seed: int) -> DefenceSet:
    """About ``fraction`` x len(pairs) extra pairs, each from a seeded-chosen source pair and kind."""
    counts: Counter[str] = Counter()
    out = [item for item in with_defence(pairs, fraction, seed, counts) if isinstance(item, PreferencePair)
           and "defence" in item.metadata]
    return DefenceSet(out, {kind: counts[kind] for kind in KINDS}, seed, fraction)


def with_defence(items: Iterable[T], fraction: float, seed: int, counts: Counter[str]) -> Iterator[T | PreferencePair]:
    """``items`` as they are, each picked pair followed by its defence pair (``counts`` per kind, updated).

    Streaming, so a build reads its inputs once and the defence pair goes through the same cleaning,
    decontamination, length measurement and source split as the pair it comes from (one conversation
    never lands in two splits). The pick depends only on the seed and the pair id.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"the adversarial fraction {fraction} must be between 0 and 1.")
    for item in items:
        yield item
        if fraction and isinstance(item, PreferencePair) and seeded_rng(seed, "pick", item.id).random() < fraction:
            extra = _defence_pair(item, seed)
            counts[extra.metadata["defence"]["kind"]] += 1
            yield extra


def _defence_pair(pair: PreferencePair, seed: int) -> PreferencePair:
    rng = seeded_rng(seed, "defence", pair.id)
    kind = rng.choice(KINDS)
    better = pair.chosen[-1]["content"]
    if kind == "master_key":
        name = rng.choice(sorted(DEFENCE.master_keys))
        losing, detail = DEFENCE.master_keys[name], name
    elif kind == "truncated":
        losing, detail = truncated_opening(better), "first sentence cut"
    else:
        family = rng.choice(sorted(DEFENCE.injections))
        template = rng.choice(DEFENCE.injections[family])
        # Placement is decided later (seeded A/B assignment), so the label-bound text names the side the
        # loser is shown at; here the payload claims position A or B at random and is right half the time.
        losing, detail = pair.rejected[-1]["content"] + fill(template, rng.choice(("A", "B"))), family
    rejected = (*pair.rejected[:-1], Message(role="assistant", content=losing))
    meta = {**pair.metadata, "defence": {"kind": kind, "detail": detail, "source_pair": pair.id,
                                         "library": LIBRARY_VERSION, "chosen_must_win": True}}
    return replace(pair, id=f"{pair.id}:defence", rejected=rejected, metadata=meta)


class Defended:
    """A build's defence stream: wraps each input's items and keeps the counts for the manifest."""

    def __init__(self, fraction: float, seed: int) -> None:
        self.fraction, self.seed = fraction, seed
        self.counts: Counter[str] = Counter()

    def __call__(self, items: Iterable[T]) -> Iterable[T | PreferencePair]:
        return with_defence(items, self.fraction, self.seed, self.counts) if self.fraction else items

    def record(self) -> dict[str, object] | None:
        """The manifest's ``adversarial`` entry (None when the build adds no defence pairs)."""
        if not self.fraction:
            return None
        return {"fraction": self.fraction, "seed": self.seed, "library": LIBRARY_VERSION,
                "pairs": {kind: self.counts[kind] for kind in KINDS}, "total": sum(self.counts.values()),
                "note": "defence pairs follow their source pair through cleaning, decontamination, the length "
                        "filter and the split; they count as read rows of that source"}
