"""A/B placement: which side of each pair the judge sees as Chatbot A.

Seeded and balanced: within every (split, source) group exactly half the pairs (one more or less for
an odd count) show the chosen answer as A, and the split as a whole is balanced within one too. The
draw depends only on the seed, the split, the source and the pair ids, never on input order, so
rebuilding gives the same placement. Rows record the result (``extra_info.chosen_position``), and
:func:`swap` names the other order for re-rendering.

>>> from data_prep.pairs import make_pair
>>> pairs = [make_pair("demo", f"q{i}", "good", "bad") for i in range(4)]
>>> sorted(place(pairs, split="train", seed=0).values())
['A', 'A', 'B', 'B']
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from data_prep.pairs import PreferencePair
from reward_fns import LABELS


def place(pairs: Iterable[PreferencePair], split: str, seed: int) -> dict[str, str]:
    """Map each pair id to 'A' or 'B' (where its chosen answer is shown), balanced per source."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        by_source[pair.source].append(pair.id)
    placement: dict[str, str] = {}
    # Odd-sized sources take the spare pair alternately as A and B, so the split as a whole is
    # balanced within one as well; the seed picks which label goes first.
    spare = random.Random(f"placement:{seed}:{split}").choice(LABELS)
    for source, ids in sorted(by_source.items()):
        rng = random.Random(f"placement:{seed}:{split}:{source}")
        n = len(ids)
        positions = [LABELS[0]] * (n // 2) + [LABELS[1]] * (n // 2)
        if n % 2:
            positions.append(spare)
            spare = swap(spare)
        rng.shuffle(positions)
        placement.update(zip(sorted(ids), positions, strict=True))
    return placement


def swap(position: str) -> str:
    """The other position: 'A' <-> 'B'."""
    if position not in LABELS:
        raise ValueError(f"position {position!r} is not one of {LABELS}.")
    return LABELS[1] if position == LABELS[0] else LABELS[0]


def balance(pairs: Iterable[PreferencePair], placement: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Counts of chosen-as-A and chosen-as-B per source, for manifests and checks."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in pairs:
        counts[pair.source][placement[pair.id]] += 1
    return {source: {label: c[label] for label in LABELS} for source, c in sorted(counts.items())}
