"""Order policies: which A/B placements of the preferred answer each comparison is judged in.

* ``both`` (default): every comparison twice, preferred answer shown as A and as B. This measures
  position bias instead of hiding it, and the mean over the two orders is the expectation of the
  random-order protocol without its variance.
* ``random``: one order per comparison, drawn from ``sha256(seed, item id)``: reproducible, and
  independent of the item order, of ``--limit`` and of the other items (comparable with published
  one-order numbers, which used an unseeded draw).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from reward_fns import LABELS

ORDER_POLICIES: tuple[str, ...] = ("both", "random")


def random_order(item_id: str, seed: int) -> str:
    """The seeded position ('A' or 'B') of the preferred answer for ``item_id``."""
    digest = hashlib.sha256(f"order:{seed}:{item_id}".encode()).digest()
    return LABELS[digest[0] & 1]


def plan_orders(item_ids: Iterable[str], policy: str, seed: int) -> dict[str, tuple[str, ...]]:
    """Map each item id to the positions its preferred answer is judged in."""
    if policy == "both":
        return {item_id: LABELS for item_id in item_ids}
    return {item_id: (random_order(item_id, seed),) for item_id in item_ids}
