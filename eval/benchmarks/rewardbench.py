"""RewardBench v1: rows to preference pairs, and the official section aggregation.

Rows (``allenai/reward-bench``, split ``filtered``, 2,985 rows): ``id``, ``prompt`` (the first user
turn), ``chosen``, ``rejected``, ``subset`` (+ ``chosen_model``, ``rejected_model``).

Aggregation, as ``rewardbench.utils.calculate_scores_per_section`` defines it: accuracy per subset;
a section's score is the mean of its subsets' accuracies weighted by the official example counts
(``math-prm`` weighs 984 although it has 447 rows, so math counts as much as code); the score is the
plain mean of the 4 sections. The micro mean over all comparisons is reported too, labelled as such.
One deliberate difference: a section with no judged items is ``None`` here (the official helper
writes 0), and the overall score is then ``None`` rather than a number that looks real.
The tables below are typed from the benchmark's documentation; a test checks them against
``rewardbench/constants.py`` in the official 0.1.4 wheel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from data_prep.benchmark_prompts import identity
from data_prep.pairs import PairError, PreferencePair, make_pair
from eval.benchmark import Benchmark, Comparison, Item, Official
from eval.benchmarks.comparisons import mean, overall_mean, section_means
from eval.benchmarks.fields import object_row, row_id
from eval.benchmarks.sources import row_items
from eval.comparison import degenerate_reasons
from eval.errors import EvalError

IDENTITY = identity("rewardbench")  # name, hub id, revision, split: the one table in data_prep.benchmark_prompts
NAME, HUB_NAME, SPLIT, REVISION = IDENTITY.name, str(IDENTITY.hub), IDENTITY.split, IDENTITY.revision
COLUMNS = ("id", "prompt", "chosen", "rejected", "subset")

SECTIONS: dict[str, tuple[str, ...]] = {
    "Chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "Chat Hard": ("mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"),
    "Safety": ("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond",
               "donotanswer"),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}
EXAMPLE_COUNTS: dict[str, int] = {
    "alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95, "mt-bench-easy": 28, "mt-bench-med": 40,
    "mt-bench-hard": 37, "llmbar-natural": 100, "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47, "llmbar-adver-manual": 46,
    "refusals-dangerous": 100, "refusals-offensive": 100, "xstest-should-refuse": 154, "xstest-should-respond": 250,
    "donotanswer": 136,
    "math-prm": 984, "hep-cpp": 164, "hep-go": 164, "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}
# Official rows of split "filtered" (2,985): EXAMPLE_COUNTS, except math-prm's 447 rows weighing 984.
OFFICIAL = Official({SPLIT: {**EXAMPLE_COUNTS, "math-prm": 447}})
SECTION_OF: dict[str, str] = {subset: section for section, subsets in SECTIONS.items() for subset in subsets}
_POSITION = {subset: i for i, subset in enumerate(SECTION_OF)}
AVERAGE = "mean of the 4 section scores; each section = subset accuracies weighted by the official example counts"


def _item(row: Any, place: str) -> Item:
    """One RewardBench row as an item whose payload is a PreferencePair (the subset and model names in its metadata)."""
    row = object_row(row, COLUMNS, place)
    item_id = row_id(row, "id", place)
    subset = row["subset"]
    if not isinstance(subset, str) or subset not in SECTION_OF:
        raise EvalError(f"{place} (id {item_id}) has unknown subset {subset!r}; "
                        "expected one of the 23 official subsets (split 'filtered').")
    metadata = {"subset": subset, "chosen_model": row.get("chosen_model"), "rejected_model": row.get("rejected_model")}
    try:
        pair = make_pair(NAME, row["prompt"], row["chosen"], row["rejected"], pair_id=item_id, metadata=metadata,
                         allow_empty=True)  # identical or empty answers are official rows: judged as published
    except PairError as err:
        raise EvalError(f"{place} (id {item_id}) is unusable: {err}") from err
    return Item(pair.id, subset, pair, place=place)


def expand(item: Item) -> list[Comparison]:
    """One comparison per item: the chosen answer against the rejected one, under the item's own id."""
    pair: PreferencePair = item.payload
    return [Comparison(item.id, item.id, pair.conversation, pair.chosen, pair.rejected, truth="1",
                       degenerate=degenerate_reasons(pair.conversation, pair.chosen, pair.rejected))]


section_scores = section_means(SECTIONS, EXAMPLE_COUNTS)  # each section's subset means weighted by example counts
overall_score = overall_mean  # plain mean of the 4 section scores; None if any section has no judged items


def aggregate_view(subset_scores: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """Per-subset accuracy, section scores, the overall score and the labelled micro mean for one view."""
    ordered = sorted(subset_scores, key=lambda s: _POSITION.get(s, len(_POSITION)))  # the official table's order
    subsets = {s: mean(subset_scores[s]) for s in ordered if subset_scores[s]}
    sections = section_scores(subsets)
    return {
        "overall": overall_score(sections),
        "micro_mean": mean(x for v in subset_scores.values() for x in v),
        "sections": sections,
        "subsets": subsets,
        "subset_items": {s: len(subset_scores[s]) for s in ordered},
    }


BENCHMARK = Benchmark(
    name=NAME,
    tool="eval.rewardbench",
    load=row_items(_item, "RewardBench"),
    expand=expand,
    aggregate=lambda view: aggregate_view(view.subset_scores),  # one comparison per item: item scores are its scores
    sections=SECTIONS,
    conventions=AVERAGE,
    section_scores=section_scores,
    overall_score=overall_score,
    data_default=HUB_NAME,
    split=SPLIT,
    revision=REVISION,
    score_label="score (mean of sections)",
    official=OFFICIAL,
)
