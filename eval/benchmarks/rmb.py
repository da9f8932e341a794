"""RMB: pairwise and best-of-N sets for helpfulness and harmlessness, read from a local copy only.

The data has NO license: it is never shipped with this repository and never downloaded by it. Point
``--data`` at a local clone's ``RMB_dataset`` folder (or the clone itself), laid out as
``{Pairwise_set,BoN_set}/{Helpfulness/<Category>/<Scenario>.json, Harmlessness/<S1..S11,multi>.json}``;
each file is a JSON list of rows.

Pairwise row: ``pair_uid``, ``conversation_input`` (list of {role, content, language}; multi-turn
occurs), ``chosen`` {llm_name, answer}, ``reject`` {llm_name, answer}, ``category_path``.
BoN row: ``bon_uid``, ``conversation_input``, ``bon_best`` {llm_name, answer}, ``loser_list``
[{llm_name, answer}, ...] (2-6 losers), ``category_path``.

Scores: pairwise accuracy is the micro mean over pairs (with both orders, each pair's mean of the two
orders), per goal and per category path. Best-of-N: the best answer is compared with every loser, and
the item counts only if the best wins EVERY comparison in EVERY order judged (a parse failure is not a
win); the per-order views count one order alone. The RMB score, as RM-R1 reports it, is the mean of
{pairwise helpfulness, pairwise harmlessness, BoN helpfulness, BoN harmlessness}.
uids repeat across files, so an item id is ``<set>:<category_path>:<uid>``. The subsets are the four
parts; per category path scores are reported beside them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.benchmark import Benchmark, Comparison, Item, ViewInput, make_comparison
from eval.benchmarks.comparisons import all_picks, every_order, items_of, mean, mean_or_none, order_rule
from eval.benchmarks.fields import row_id, text_field
from eval.benchmarks.sources import checked_sha256
from eval.errors import EvalError
from eval.report_text import pct
from eval.scoring import ScoredJudgment
from infra.row_files import RowFileError, iter_rows
from infra.run_metadata import InputRef

NAME = "rmb"
SETS: dict[str, str] = {"Pairwise_set": "pairwise", "BoN_set": "bon"}
GOALS: tuple[str, ...] = ("Helpfulness", "Harmlessness")
PARTS: tuple[str, ...] = ("Pairwise helpfulness", "Pairwise harmlessness", "BoN helpfulness", "BoN harmlessness")
_KEYS = {"pairwise": ("pair_uid", "chosen", "reject"), "bon": ("bon_uid", "bon_best", "loser_list")}
AVERAGE = ("mean of {pairwise helpfulness, pairwise harmlessness, BoN helpfulness, BoN harmlessness} as RM-R1 "
           "reports it; pairwise = micro accuracy over pairs; BoN = share of items whose best answer beats every "
           "loser in every order judged")
NOTES = ("BoN: a missing verdict is never a win, whatever --parse-failure-score says (it applies to pairs only)",
         "RMB has no license: the data is read from a local copy and never shipped or downloaded")


def part_name(kind: str, goal: str) -> str:
    """``Pairwise helpfulness`` and the like: the four parts of the RMB score."""
    return f"{'Pairwise' if kind == 'pairwise' else 'BoN'} {goal.lower()}"


def find_root(data: str | os.PathLike[str]) -> Path:
    """The folder holding ``Pairwise_set`` and ``BoN_set`` (``data`` itself or its ``RMB_dataset``)."""
    path = Path(data)
    if not path.is_dir():
        raise EvalError(f"--data {os.fspath(data)!r} is not a folder; point it at a local clone's RMB_dataset folder "
                        "(RMB has no license and is never downloaded).")
    for candidate in (path, path / "RMB_dataset"):
        if any((candidate / name).is_dir() for name in SETS):
            return candidate
    raise EvalError(f"--data {os.fspath(data)!r} has no Pairwise_set or BoN_set folder; point it at RMB_dataset.")


def load_items(source: str, split: str | None = None, revision: str | None = None) -> tuple[list[Item], InputRef]:
    """Every RMB row under the local folder ``source`` as an item (``split`` and ``revision`` do not apply)."""
    root = find_root(source)
    items: list[Item] = []
    rows: list[dict[str, Any]] = []
    places: list[str] = []
    for folder, kind in SETS.items():
        for file in sorted((root / folder).rglob("*.json")):
            goal = file.relative_to(root / folder).parts[0]
            if goal not in GOALS:
                raise EvalError(f"RMB file {os.fspath(file)!r} is not under Helpfulness or Harmlessness; "
                                "keep the repository's layout.")
            for place, row in _file_rows(file):
                where = f"{place} of {file.relative_to(root).as_posix()}"
                items.append(_item(kind, goal, row, where))
                places.append(f"RMB {where}")
                rows.append(row)
    if not items:
        raise EvalError(f"--data {os.fspath(source)!r} holds no RMB rows; point it at RMB_dataset.")
    return items, InputRef(name=f"RMB_dataset (local, {len(items)} rows)", revision=None,
                           sha256=checked_sha256(rows, places))


def _file_rows(file: Path) -> list[tuple[str, dict[str, Any]]]:
    """The rows of one RMB file and their places, read by the one shared reader."""
    try:
        return list(iter_rows(file))
    except RowFileError as err:
        raise EvalError(f"RMB file {err}") from err
    except OSError as err:  # unreadable (permissions): an input problem, not a failed write
        raise EvalError(f"RMB file {os.fspath(file)!r} cannot be read ({err.strerror or err}); check its "
                        "permissions.") from err


def _item(kind: str, goal: str, row: Mapping[str, Any], place: str) -> Item:
    uid, best, losers = _KEYS[kind]
    missing = [k for k in (uid, "conversation_input", best, losers, "category_path") if k not in row]
    if missing:
        raise EvalError(f"RMB {place} lacks {missing}; {kind} rows need the RMB schema.")
    loser_list = [row[losers]] if kind == "pairwise" else row[losers]
    if not isinstance(loser_list, list) or not loser_list:
        raise EvalError(f"RMB {place} has no losers; a best-of-N row needs a non-empty loser_list.")
    if not isinstance(row["conversation_input"], list):
        raise EvalError(f"RMB {place} has a conversation_input that is not a list of messages; fix the row.")
    uid_text = row_id(row, uid, f"RMB {place}")
    category = text_field(row, "category_path", f"RMB {place}")
    payload = {"kind": kind, "goal": goal, "category_path": category, "place": place,
               "conversation": [{"role": m.get("role"), "content": m.get("content")}
                                for m in row["conversation_input"] if isinstance(m, Mapping)],
               "best": _answer(row[best], place), "losers": [_answer(x, place) for x in loser_list]}
    return Item(f"{kind}:{category}:{uid_text}", part_name(kind, goal), payload, place=f"RMB {place}")


def _answer(value: Any, place: str) -> tuple[str, str | None]:
    if not isinstance(value, Mapping) or not isinstance(value.get("answer"), str):
        raise EvalError(f"RMB {place} has an answer that is not {{llm_name, answer}}; fix the row.")
    return value["answer"], value.get("llm_name")


def expand(item: Item) -> list[Comparison]:
    """A pair is one comparison (under the item's id); a best-of-N item is the best against each loser."""
    p = item.payload
    out = []
    for number, (loser, loser_model) in enumerate(p["losers"]):
        comparison_id = item.id if p["kind"] == "pairwise" else f"{item.id}:l{number}"
        metadata = {"subset": item.subset, "kind": p["kind"], "category_path": p["category_path"], "loser": number,
                    "chosen_model": p["best"][1], "rejected_model": loser_model}
        out.append(make_comparison(item.id, comparison_id, p["conversation"], p["best"][0], loser, metadata=metadata))
    return out


def item_rule(view: str, mode: str, comparisons: Sequence[Comparison], scores: Sequence[float],
              judged: Sequence[Mapping[str, ScoredJudgment]]) -> float:
    """A pair scores its comparison; a best-of-N item 1 only if the best won every comparison in every order."""
    if comparisons[0].metadata["kind"] == "pairwise":
        return scores[0]
    return order_rule(view, all_picks(judged, mode), every_order)


def aggregate(view: ViewInput) -> dict[str, Any]:
    """The four parts (micro means over their items), their mean, and each category path's mean."""
    parts: dict[str, list[float]] = defaultdict(list)
    categories: dict[str, list[float]] = defaultdict(list)
    for item_id, comparison_ids in items_of(view).items():
        first = view.comparisons[comparison_ids[0]].metadata
        score = view.item_scores[item_id]
        parts[first["subset"]].append(score)
        categories[first["category_path"]].append(score)
    sections = section_scores({p: mean(v) for p, v in parts.items()})
    return {
        "overall": overall_score(sections),
        "micro_mean": None,  # the parts are already micro means; one over pairs and BoN items would mean nothing
        "sections": sections,
        "subsets": {p: mean(parts[p]) for p in PARTS if parts.get(p)},
        "subset_items": {p: len(parts[p]) for p in PARTS if parts.get(p)},
        "categories": {c: mean(v) for c, v in sorted(categories.items())},
        "category_items": {c: len(v) for c, v in sorted(categories.items())},
    }


def section_scores(subset_means: Mapping[str, Any]) -> dict[str, Any]:
    """Each part is its own section."""
    return {p: subset_means.get(p) for p in PARTS}


def overall_score(sections: Mapping[str, Any]) -> Any:
    """Plain mean of the 4 parts; None if one has no judged items."""
    return mean_or_none(sections.values())


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: accuracy per category path (the headline view)."""
    conv = summary["conventions"]
    scores = summary["scores"][conv["parse_mode"]][conv["headline_view"]]
    lines = ["## Category paths", "", "| category path | items | score |", "|---|---:|---:|"]
    lines += [f"| {c} | {scores['category_items'][c]} | {pct(v)} |" for c, v in scores["categories"].items()]
    return lines


BENCHMARK = Benchmark(name=NAME, tool="eval.rmb", load=load_items, expand=expand, aggregate=aggregate,
                      sections={p: (p,) for p in PARTS}, conventions=AVERAGE, section_scores=section_scores,
                      overall_score=overall_score, data_default=None, split="all", item_rule=item_rule,
                      score_label="score (mean of 4 parts)", notes=NOTES, report_lines=report_lines,
                      view_titles={"mean_of_orders": "mean of orders (BoN: every order)"})
