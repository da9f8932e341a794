"""RewardBench 2 with a pairwise judge: best-of-4 as the chosen answer against each rejected one.

Rows (``allenai/reward-bench-2``, split ``test``, 1,865 rows): ``id``, ``prompt``, ``chosen`` (list: 1
item; several in Ties), ``rejected`` (list: 3; many in Ties), ``num_correct``, ``num_incorrect``,
``total_completions``, ``models``, ``subset`` (Factuality, Precise IF, Math, Safety, Focus, Ties).

Non-Ties subsets: the chosen answer is compared with each of the 3 rejected ones; a prompt is correct
only if the chosen wins them all. With both orders, a comparison won in both is a win, won in neither
a loss, and won in one order only a tie (the judge cannot separate the two); like the official
scorer's shared top (1 / number tied at the maximum), a prompt with no loss and k ties scores
1 / (k + 1). A parse failure is never a win. The per-order views need every comparison won in that order.

Ties: a PAIRWISE SUBSTITUTE (:data:`NOTES` says what it is). The official Ties score is a weighted
composite (0.30 tied accuracy + 0.30 reference accuracy + 0.20 + 0.20 margin terms + 0.01 tie-break)
computed from scalar scores, which a pairwise judge does not produce; the overall without Ties is
reported beside the official overall (the unweighted mean of the 6 subsets).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from data_prep.benchmark_prompts import identity
from eval.benchmark import Benchmark, Comparison, Item, Official, ViewInput, make_comparison
from eval.benchmarks.comparisons import Picks, all_picks, every_order, mean, order_rule, overall_mean, section_means
from eval.benchmarks.fields import label_field, object_row, row_id, text_field
from eval.benchmarks.sources import row_items
from eval.errors import EvalError
from eval.report_text import headline_scores, pct
from eval.scoring import ScoredJudgment

IDENTITY = identity("rewardbench2")  # name, hub id, revision, split: the one table in data_prep.benchmark_prompts
NAME, HUB_NAME, SPLIT, REVISION = IDENTITY.name, str(IDENTITY.hub), IDENTITY.split, IDENTITY.revision
COLUMNS = ("id", "prompt", "chosen", "rejected", "subset")
SUBSETS: tuple[str, ...] = ("Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties")
TIES = "Ties"
# Ties items sit in two subsets so the substitute (the mean of the two accuracies) is a section score
TIES_PARTS: tuple[str, str] = ("Ties (reference)", "Ties (tied)")
SECTIONS: dict[str, tuple[str, ...]] = {**{s: (s,) for s in SUBSETS if s != TIES}, TIES: TIES_PARTS}
section_scores = section_means(SECTIONS)  # Ties = the mean of its reference and tied accuracies
OFFICIAL = Official({SPLIT: {"Factuality": 475, "Precise IF": 160, "Math": 183, "Safety": 450, "Focus": 495,
                             "Ties": 102}},  # 1,865 rows
                    lambda items: dict(Counter(TIES if i.subset in TIES_PARTS else i.subset for i in items)))
FAILURE_RULE = "a judgment without a verdict is never a win, whatever {flag} says"
AVERAGE = ("unweighted mean of the 6 subsets; best-of-4 = the chosen answer must beat each rejected one (a comparison "
           "won in one order only is a tie; no loss and k ties scores 1/(k+1), like the official shared top)")
NOTES = ("Ties is a pairwise substitute (accuracy only: every correct answer must beat every incorrect one in every "
         "order; the mean of reference-prompt and tied-prompt accuracy); it is NOT comparable with the official "
         "leaderboard's weighted composite, and neither is an overall that includes it (see overall_without_ties)",)


def _item(row: Any, place: str) -> Item:
    """A RewardBench 2 row as an item (the subset is the row's, Ties split in its two parts; the row is the payload)."""
    row = object_row(row, COLUMNS, place)
    item_id = row_id(row, "id", place)
    label_field(row, "subset", SUBSETS, f"{place} (id {item_id})")
    text_field(row, "prompt", f"{place} (id {item_id})")
    for side in ("chosen", "rejected"):
        value = row[side]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise EvalError(f"{place} (id {item_id}) needs a non-empty list of {side} answers (texts); fix the row.")
    if row["subset"] != TIES and len(row["chosen"]) != 1:
        raise EvalError(f"{place} (id {item_id}) has {len(row['chosen'])} chosen answers; "
                        "only Ties rows may have more than one.")
    ties_part = TIES_PARTS[0] if len(row["chosen"]) == 1 else TIES_PARTS[1]
    return Item(item_id, ties_part if row["subset"] == TIES else row["subset"], row, place=place)


def expand(item: Item) -> list[Comparison]:
    """Non-Ties: the chosen answer against each rejected one; Ties: every correct against every incorrect."""
    row = item.payload
    ties = item.subset in TIES_PARTS
    return [make_comparison(item.id, f"{item.id}:c{c}r{r}" if ties else f"{item.id}:r{r}", row["prompt"], chosen,
                            rejected, metadata={"subset": item.subset, "num_correct": len(row["chosen"]),
                                                "chosen_index": c, "rejected_index": r})
            for c, chosen in enumerate(row["chosen"]) for r, rejected in enumerate(row["rejected"])]


def shared_top(judged: Sequence[Picks]) -> float:
    """0 if a comparison is won in no order, else 1 / (1 + the comparisons won in only some orders)."""
    ties = 0
    for picks in judged:
        wins = sum(1 for p in picks.values() if p is True)
        if wins == 0:
            return 0.0
        ties += wins < len(picks)
    return 1.0 / (1 + ties)


def item_rule(view: str, mode: str, comparisons: Sequence[Comparison], scores: Sequence[float],
              judged: Sequence[Mapping[str, ScoredJudgment]]) -> float:
    """Best-of-4: the shared top over both orders; Ties: every comparison won in every order."""
    rule = every_order if comparisons[0].metadata["subset"] in TIES_PARTS else shared_top
    return order_rule(view, all_picks(judged, mode), rule)


def aggregate(view: ViewInput) -> dict[str, Any]:
    """Subset accuracies (Ties through the substitute), their mean, and the mean without Ties."""
    order = [s for subsets in SECTIONS.values() for s in subsets]
    scores = {s: view.subset_scores[s] for s in order if view.subset_scores.get(s)}
    subsets = {s: mean(v) for s, v in scores.items()}
    sections = section_scores(subsets)
    return {
        "overall": overall_mean(sections),
        "overall_without_ties": overall_mean({s: v for s, v in sections.items() if s != TIES}),
        "micro_mean": mean(x for values in scores.values() for x in values),
        "sections": sections,
        "subsets": subsets,
        "subset_items": {s: len(v) for s, v in scores.items()},
    }


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: the overall without Ties (comparable in spirit with the leaderboard's five subsets) and Ties' parts."""
    scores = headline_scores(summary)
    parts = scores["subsets"]
    return [f"Mean of the 5 subsets without Ties: {pct(scores['overall_without_ties'])}. Ties (pairwise substitute, "
            f"not the official composite): reference prompts {pct(parts.get(TIES_PARTS[0]))}, tied prompts "
            f"{pct(parts.get(TIES_PARTS[1]))}."]


BENCHMARK = Benchmark(name=NAME, tool="eval.rewardbench2", expand=expand, aggregate=aggregate,
                      sections=SECTIONS, conventions=AVERAGE, section_scores=section_scores,
                      overall_score=overall_mean, data_default=HUB_NAME, split=SPLIT, revision=REVISION,
                      item_rule=item_rule, score_label="score (mean of 6 subsets; Ties substitute)", notes=NOTES,
                      report_lines=report_lines, view_titles={"mean_of_orders": "both orders (shared top)"},
                      official=OFFICIAL, load=row_items(_item, "RewardBench 2"), failure_rule=FAILURE_RULE,
                      micro_label="micro mean over prompts (each prompt's best-of-4 score; not the score)")
