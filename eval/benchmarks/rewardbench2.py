"""RewardBench 2 with a pairwise judge: best-of-4 as the chosen answer against each rejected one.

Rows (``allenai/reward-bench-2``, split ``test``, 1,865 rows): ``id``, ``prompt``, ``chosen`` (list: 1
item; several in Ties), ``rejected`` (list: 3; many in Ties), ``num_correct``, ``num_incorrect``,
``total_completions``, ``models``, ``subset`` (Factuality, Precise IF, Math, Safety, Focus, Ties).

Non-Ties subsets: the chosen answer is compared with each of the 3 rejected ones; a prompt is correct
only if the chosen wins them all. With both orders, a comparison won in both is a win, won in neither
a loss, and won in one order only a tie (the judge cannot separate the two); like the official
scorer's shared top (1 / number tied at the maximum), a prompt with no loss and k ties scores
1 / (k + 1). A parse failure is never a win. The per-order views need every comparison won in that order.

Ties: a PAIRWISE SUBSTITUTE. The official Ties score is a weighted composite (0.30 tied accuracy +
0.30 reference accuracy + 0.20 + 0.20 margin terms + 0.01 tie-break) computed from scalar scores,
which a pairwise judge does not produce. Here every correct answer is compared with every incorrect
one, a prompt is accurate if every correct answer wins every comparison in every order judged, and
the Ties score is the mean of the reference-prompt (1 correct answer) and tied-prompt (several)
accuracies. It is NOT comparable with the official leaderboard, and neither is an overall score that
includes it; the overall without Ties is reported beside it.
Overall = unweighted mean of the 6 subsets (the official definition).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_prep.pairs import PairError, make_pair
from eval.benchmarks.comparisons import Comparison, Picks, all_win_views, mean, mean_or_none, views_for, won_in
from eval.benchmarks.rmbench import round_robin
from eval.benchmarks.sources import load_rows
from eval.errors import EvalError
from infra.run_metadata import InputRef

NAME = "rewardbench2"
HUB_NAME = "allenai/reward-bench-2"
SPLIT = "test"
REVISION: str | None = None  # no pinned commit yet: the report records the rows' sha256 instead
COLUMNS = ("id", "prompt", "chosen", "rejected", "subset")
SUBSETS: tuple[str, ...] = ("Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties")
TIES = "Ties"
TIES_NOTE = ("Ties is a pairwise substitute (accuracy only: mean of reference- and tied-prompt accuracy, every "
             "correct answer must beat every incorrect one in every order); NOT comparable with the official "
             "leaderboard's composite, nor is an overall that includes it")


@dataclass(frozen=True)
class RB2Item:
    """One prompt: its subset, how many correct answers it has, and its comparison ids."""

    id: str
    subset: str
    num_correct: int
    comparison_ids: tuple[str, ...]


@dataclass(frozen=True)
class RB2Data:
    """The loaded benchmark."""

    comparisons: list[Comparison]
    items: dict[str, RB2Item]
    input: InputRef
    total_items: int

    @property
    def item_of(self) -> dict[str, str]:
        return {c.id: c.item_id for c in self.comparisons}


def load_rewardbench2(source: str = HUB_NAME, split: str = SPLIT, revision: str | None = REVISION,
                      limit: int | None = None) -> RB2Data:
    """Load RewardBench 2 rows and expand each prompt into its comparisons; ``limit`` keeps N round-robin by subset."""
    rows, ref = load_rows(source, split, revision)
    checked = [_check_row(row, number) for number, row in enumerate(rows, 1)]
    ids = [str(row["id"]) for row in checked]
    if len(set(ids)) != len(ids):
        raise EvalError(f"--data {source!r} repeats a prompt id; RewardBench 2 ids must be unique.")
    total = len(checked)
    if limit is not None:
        checked = round_robin(checked, limit, key=lambda row: row["subset"])
    comparisons: list[Comparison] = []
    items: dict[str, RB2Item] = {}
    for row in checked:
        expanded = _expand(row)
        comparisons += expanded
        items[str(row["id"])] = RB2Item(str(row["id"]), row["subset"], len(row["chosen"]),
                                        tuple(c.id for c in expanded))
    return RB2Data(comparisons, items, ref, total)


def _check_row(row: Any, number: int) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise EvalError(f"RewardBench 2 row {number} is a {type(row).__name__}; each row must be an object.")
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise EvalError(f"RewardBench 2 row {number} lacks columns {missing}; rows need {list(COLUMNS)}.")
    if row["subset"] not in SUBSETS:
        raise EvalError(f"RewardBench 2 row {number} (id {row['id']}) has subset {row['subset']!r}; expected one of "
                        f"{list(SUBSETS)}.")
    for side in ("chosen", "rejected"):
        if not isinstance(row[side], Sequence) or isinstance(row[side], str) or not row[side]:
            raise EvalError(f"RewardBench 2 row {number} (id {row['id']}) needs a non-empty list of {side} answers.")
    if row["subset"] != TIES and len(row["chosen"]) != 1:
        raise EvalError(f"RewardBench 2 row {number} (id {row['id']}) has {len(row['chosen'])} chosen answers; "
                        "only Ties rows may have more than one.")
    return row


def _expand(row: Mapping[str, Any]) -> list[Comparison]:
    item_id = str(row["id"])
    out = []
    for c, chosen in enumerate(row["chosen"]):
        for r, rejected in enumerate(row["rejected"]):
            comparison_id = f"{item_id}:r{r}" if row["subset"] != TIES else f"{item_id}:c{c}r{r}"
            metadata = {"item": item_id, "subset": row["subset"], "chosen_index": c, "rejected_index": r}
            try:
                pair = make_pair(NAME, row["prompt"], chosen, rejected, pair_id=comparison_id, metadata=metadata)
            except PairError as err:
                raise EvalError(f"RewardBench 2 prompt {item_id} (chosen {c}, rejected {r}) is unusable: "
                                f"{err}") from err
            out.append(Comparison(item_id, pair))
    return out


def shared_top_score(comparisons: Sequence[Picks]) -> float:
    """0 if any comparison is lost in every order judged, else 1 / (1 + comparisons won in only some orders)."""
    ties = 0
    for picks in comparisons:
        wins = sum(1 for p in picks.values() if p is True)
        if wins == 0:
            return 0.0
        ties += wins < len(picks)
    return 1.0 / (1 + ties)


def item_scores(item: RB2Item, picks: Mapping[str, Picks]) -> dict[str, float]:
    """One prompt's score in every view (shared top for best-of-4, all-must-win for Ties)."""
    judged = [picks[c] for c in item.comparison_ids]
    combined = float(all(won_in(p) for p in judged)) if item.subset == TIES else shared_top_score(judged)
    return all_win_views(judged, combined)


def aggregate(picks: Mapping[str, Picks], items: Mapping[str, RB2Item]) -> dict[str, Any]:
    """Every view's RewardBench 2 scores: per subset, the mean of the 6 subsets and the mean without Ties."""
    per_item = {item_id: item_scores(item, picks) for item_id, item in items.items()
                if all(c in picks for c in item.comparison_ids)}
    return {view: aggregate_view(per_item, items, view) for view in views_for(picks)}


def aggregate_view(per_item: Mapping[str, Mapping[str, float]], items: Mapping[str, RB2Item],
                   view: str) -> dict[str, Any]:
    """Subset accuracies (Ties through the substitute) and their unweighted means."""
    by_subset: dict[str, list[float]] = defaultdict(list)
    ties: dict[str, list[float]] = defaultdict(list)
    for item_id, scores in per_item.items():
        item = items[item_id]
        by_subset[item.subset].append(scores[view])
        if item.subset == TIES:
            ties["reference" if item.num_correct == 1 else "tied"].append(scores[view])
    subsets = {s: mean(by_subset[s]) if s != TIES else mean_or_none(mean(v) for v in ties.values())
               for s in SUBSETS if by_subset.get(s)}
    sections = {s: subsets.get(s) for s in SUBSETS}
    return {
        "overall": mean_or_none(sections.values()),
        "overall_without_ties": mean_or_none(v for s, v in sections.items() if s != TIES),
        "micro_mean": mean(x for values in by_subset.values() for x in values),
        "sections": sections,
        "subsets": subsets,
        "subset_items": {s: len(by_subset[s]) for s in SUBSETS if by_subset.get(s)},
        "ties_parts": {k: mean(v) for k, v in sorted(ties.items())},
    }
