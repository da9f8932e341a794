"""Which A/B placements of the preferred answer each comparison is judged in (``--order``), and ``--votes k``:
k sampled judgments per comparison, voted into one verdict per order before scoring.

Order policies (:func:`plan_orders`):

* ``both`` (default): every comparison twice, preferred answer shown as A and as B. This measures
  position bias instead of hiding it, and the mean over the two orders is the expectation of the
  random-order protocol without its variance.
* ``random``: one order per comparison, drawn from ``sha256(seed, item id)``: reproducible, and
  independent of the item order, of ``--limit`` and of the other items (comparable with published
  one-order numbers, which used an unseeded draw).

Which order each sample shows (:func:`sample_judgments`): with ``--order both`` the orders alternate,
starting from the comparison's seeded random order (:func:`random_order`), so k samples cost
k calls and sample 0 is exactly the ``--order random`` judgment; with ``--order random`` every sample
shows the seeded order (one order). Sample 0 keeps the cache key of a run without voting; sample s > 0
is keyed with its index (:meth:`eval.cache.RequestKeyer.key`) and seeded by that key, so a k=8 run
reuses k=4's samples and generates only the new ones.

Voting (:func:`collapse`): the samples shown in one order become one judgment for that order whose
verdict, per parse mode, is :func:`eval.voting.decided` over their verdicts (a tie goes to the tied
answer voted first; no valid verdict keeps the first sample's failure). Every view and every
benchmark's own rule then reads voted verdicts: ``chosen_as_A``/``chosen_as_B`` are each order's vote,
``mean_of_orders`` their mean, ``both_correct`` the both-order-consistent majority, JudgeBench's net and
best-of-N rules count voted verdicts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from data_prep.prompts import PromptTemplate
from eval.backends.base import Sampling
from eval.comparison import Comparison
from eval.runner import Judgment, comparison_judgments
from eval.scoring import ScoredJudgment, Verdict
from eval.voting import decided, majority
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


def sample_judgments(comparisons: Sequence[Comparison], policy: str, votes: int, seed: int, template: PromptTemplate,
                     model_id: str, sampling: Sampling, request_options: Mapping[str, Any] | None = None
                     ) -> list[Judgment]:
    """Every sample's judgment, sample 0 of every comparison first (so each (comparison, order) lists its samples
    in sample order)."""
    first = {c.comparison_id: random_order(c.comparison_id, seed) for c in comparisons}  # its seeded order
    out: list[Judgment] = []
    for s in range(votes):  # orders alternate from the seeded one (``both``), or always show it (``random``)
        flip = policy == "both" and s % 2 == 1
        plan = {c: (("B" if order == "A" else "A") if flip else order,) for c, order in first.items()}
        out += comparison_judgments([replace(c, sample=s) for c in comparisons], plan, template, model_id, sampling,
                                    request_options)
    return out


def collapse(scored: Sequence[ScoredJudgment]) -> list[ScoredJudgment]:
    """One voted judgment per (comparison, order), in first-seen order (see the module docstring)."""
    groups: dict[tuple[str, str], list[ScoredJudgment]] = {}
    for judgment in scored:
        groups.setdefault((judgment.item_id, judgment.tag), []).append(judgment)
    return [_voted(samples) for samples in groups.values()]


def _voted(samples: Sequence[ScoredJudgment]) -> ScoredJudgment:
    first = samples[0]
    strict, lenient = (_vote([s.verdict(mode) for s in samples]) for mode in ("strict", "lenient"))
    valid = [s for s in samples if s.skipped is None]
    return replace(first, strict=strict, lenient=lenient, skipped=None if valid else first.skipped,
                   finish_reason=(valid[0] if valid else first).finish_reason)


def _vote(verdicts: Sequence[Verdict]) -> Verdict:
    label = decided([v.label for v in verdicts])
    return Verdict(label, None) if isinstance(label, str) else verdicts[0]


def generated_tokens(keys: Iterable[str], records: Mapping[str, Any]) -> int:
    """Completion tokens of the unique cached generations behind ``keys`` (0 where the backend did not count)."""
    return sum(getattr(records.get(key), "completion_tokens", None) or 0 for key in set(keys))


def tallies(scored: Sequence[ScoredJudgment]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(comparison, order) -> parse mode -> each sample's label (None: no verdict) and the voted majority's margin."""
    labels: dict[tuple[str, str], dict[str, list[str | None]]] = {}
    for judgment in scored:
        per_mode = labels.setdefault((judgment.item_id, judgment.tag), {"strict": [], "lenient": []})
        for mode, found in per_mode.items():
            found.append(judgment.verdict(mode).label)
    return {key: {mode: {"labels": found, "margin": majority(found).margin} for mode, found in per_mode.items()}
            for key, per_mode in labels.items()}
