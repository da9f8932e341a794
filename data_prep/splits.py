"""Seeded, source-stratified, disjoint splits: ``val``, ``distill`` and ``train``.

Each source is split on its own (stratified), so every split keeps the mix's proportions. Pairs that
share a conversation stay together, so no prompt is seen in two splits. The order within a source is a
seeded shuffle of conversation groups sorted by their hash: the result depends on the seed and the
content, not on file order.

* ``val_size`` below 1 is a fraction of each source; 1 or more is a total count shared out in
  proportion to source sizes. With a fraction, a source of 3 or more pairs gives at least one to val
  (and to distill, when asked for), so small sources still show up in per-source metrics.
* ``distill_fraction`` is the share of what remains after val that goes to distillation (the paper
  distils about 12% of the mix and runs RL on the rest); with it 0 no distill split exists.

A/B placement (:func:`place`: which side the judge sees as Chatbot A) is seeded and balanced the same
way: within every (split, source) group exactly half the pairs (one more or less for an odd count)
show the chosen answer as A, and the split as a whole is balanced within one too. The draw depends
only on the seed, the split, the source and the pair ids, never on input order.

>>> from data_prep.pairs import make_pair
>>> pairs = [make_pair("demo", f"q{i}", "good", "bad") for i in range(4)]
>>> sorted(place(pairs, split="train", seed=0).values())
['A', 'A', 'B', 'B']
"""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence

from data_prep.pairs import PreferencePair
from reward_fns import LABELS

SPLITS: tuple[str, ...] = ("train", "val", "distill")
_MIN_SOURCE_FOR_GUARANTEE = 3  # smaller sources cannot spare a pair for every split


def split_pairs(
    pairs: Iterable[PreferencePair], val_size: float, distill_fraction: float, seed: int
) -> dict[str, list[PreferencePair]]:
    """Split ``pairs`` into ``train``, ``val`` and ``distill`` lists (ordered by source, then id)."""
    if val_size < 0 or (val_size >= 1 and val_size != int(val_size)):
        raise ValueError(f"val_size {val_size} must be a fraction in [0, 1) or a whole count of pairs.")
    if not 0 <= distill_fraction < 1:
        raise ValueError(f"distill_fraction {distill_fraction} must be in [0, 1).")
    by_source: dict[str, list[PreferencePair]] = defaultdict(list)
    for pair in pairs:
        by_source[pair.source].append(pair)
    sources = sorted(by_source)
    val_targets = _val_targets([len(by_source[s]) for s in sources], val_size)
    out: dict[str, list[PreferencePair]] = {name: [] for name in SPLITS}
    for source, val_target in zip(sources, val_targets, strict=True):
        groups = _shuffled_groups(by_source[source], f"split:{seed}:{source}")
        n = len(by_source[source])
        taken = _take(groups, val_target, out["val"])
        distill_target = _fraction_target(n - taken, distill_fraction)
        _take(groups, distill_target, out["distill"])
        for group in groups:
            out["train"].extend(group)
    return {name: sorted(rows, key=lambda p: (p.source, p.id)) for name, rows in out.items()}


def _val_targets(sizes: Sequence[int], val_size: float) -> list[int]:
    if val_size < 1:
        return [_fraction_target(n, val_size) for n in sizes]
    total = sum(sizes)
    shares = [val_size * n / total if total else 0.0 for n in sizes]
    targets = [math.floor(s) for s in shares]
    leftover = min(int(val_size), total) - sum(targets)
    by_remainder = sorted(range(len(sizes)), key=lambda i: (targets[i] - shares[i], i))
    for i in by_remainder[:leftover]:
        targets[i] += 1
    return targets


def _fraction_target(n: int, fraction: float) -> int:
    if fraction <= 0 or n == 0:
        return 0
    target = round(n * fraction)
    return max(target, 1) if n >= _MIN_SOURCE_FOR_GUARANTEE else target


def _shuffled_groups(pairs: list[PreferencePair], seed_key: str) -> deque[list[PreferencePair]]:
    grouped: dict[str, list[PreferencePair]] = defaultdict(list)
    for pair in pairs:
        grouped[pair.conversation_key].append(pair)
    keys = sorted(grouped)
    random.Random(seed_key).shuffle(keys)
    return deque(sorted(grouped[k], key=lambda p: p.id) for k in keys)


def _take(groups: deque[list[PreferencePair]], target: int, into: list[PreferencePair]) -> int:
    """Move whole groups from the front of ``groups`` into ``into`` until ``target`` pairs moved."""
    taken = 0
    while groups and taken < target:
        group = groups.popleft()
        into.extend(group)
        taken += len(group)
    return taken


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
            spare = LABELS[1] if spare == LABELS[0] else LABELS[0]
        rng.shuffle(positions)
        placement.update(zip(sorted(ids), positions, strict=True))
    return placement
