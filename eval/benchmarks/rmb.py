"""RMB: pairwise and best-of-N sets for helpfulness and harmlessness, read from a local copy only.

The data has NO license: it is never shipped with this repository and never downloaded by it. Point
``--data`` at a local clone's ``RMB_dataset`` folder (or the clone itself), laid out as
``{Pairwise_set,BoN_set}/{Helpfulness/<Category>/<Scenario>.json, Harmlessness/<S1..S11,multi>.json}``;
each file is a JSON list of rows. Folder names are matched whatever their case (``pairwise_set`` is
``Pairwise_set``); two folders that differ only in case are refused.

Pairwise row: ``pair_uid``, ``conversation_input`` (list of {role, content, language}; multi-turn
occurs), ``chosen`` {llm_name, answer}, ``reject`` {llm_name, answer}, ``category_path``.
BoN row: ``bon_uid``, ``conversation_input``, ``bon_best`` {llm_name, answer}, ``loser_list``
[{llm_name, answer}, ...] (2-6 losers), ``category_path``. uids repeat across files, so an item id is
``<set>:<category_path>:<uid>``.

The four parts of the score (:data:`AVERAGE`) are the subsets; per category path scores are reported
beside them. A pair scores its comparison (with both orders, the mean of the two); a best-of-N item
compares the best answer with every loser (:data:`NOTES`, :func:`random_order_expectation`).
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.benchmark_prompts import identity
from eval.benchmark import Benchmark, Comparison, Item, Official, ViewInput, make_comparison
from eval.benchmarks.comparisons import all_picks, every_order, grouped, mean, order_rule, overall_mean, section_means
from eval.benchmarks.fields import every_row, object_row, row_id, text_field
from eval.benchmarks.sources import checked_sha256, file_rows
from eval.errors import EvalError, refused
from eval.report_text import headline_scores, pct, table
from eval.scoring import ScoredJudgment
from infra.run_metadata import InputRef

IDENTITY = identity("rmb")  # name, hub id, revision, split: the one table in data_prep.benchmark_prompts
NAME, SPLIT = IDENTITY.name, IDENTITY.split
SETS: dict[str, str] = {"Pairwise_set": "pairwise", "BoN_set": "bon"}
GOALS: tuple[str, ...] = ("Helpfulness", "Harmlessness")
PARTS: tuple[str, ...] = ("Pairwise helpfulness", "Pairwise harmlessness", "BoN helpfulness", "BoN harmlessness")
SECTIONS = {p: (p,) for p in PARTS}  # each part is its own section
section_scores = section_means(SECTIONS)
_KEYS = {"pairwise": ("pair_uid", "chosen", "reject"), "bon": ("bon_uid", "bon_best", "loser_list")}
AVERAGE = ("mean of {pairwise helpfulness, pairwise harmlessness, BoN helpfulness, BoN harmlessness} as RM-R1 "
           "reports it; pairwise = micro accuracy over pairs; BoN = share of items whose best answer beats every "
           "loser in every order judged")
NOTES = ("BoN with both orders needs a win in every order, stricter than RM-R1's one random order per comparison: "
         "the one-random-order expectation beside it is the number comparable with RM-R1's published RMB",
         "RMB has no license: the data is read from a local copy and never shipped or downloaded")
FAILURE_RULE = ("a pair's judgment without a verdict scores {score} ({flag}); in best-of-N a missing verdict is never "
                "a win, whatever {flag} says")
FILES = 98  # RMB_dataset's JSON files as published
OFFICIAL = Official({SPLIT: {"files": FILES, "BoN helpfulness": 2109, "BoN harmlessness": 1677,
                             "Pairwise helpfulness": None, "Pairwise harmlessness": None}},
                    lambda items: {**Counter(i.subset for i in items),
                                   "files": len({i.payload["file"] for i in items})})


def find_root(data: str | os.PathLike[str]) -> Path:
    """The folder holding ``Pairwise_set`` and ``BoN_set`` (``data`` itself or its ``RMB_dataset``), any case."""
    path = Path(data)
    if not path.is_dir():
        raise EvalError(f"--data {os.fspath(data)!r} is not a folder; point it at a local clone's RMB_dataset folder "
                        "(RMB has no license and is never downloaded).")
    for candidate in (path, *_children(path, ("RMB_dataset",)).values()):
        if _children(candidate, SETS):
            return candidate
    raise EvalError(f"--data {os.fspath(data)!r} has no Pairwise_set or BoN_set folder; point it at RMB_dataset.")


def _children(folder: Path, names: Iterable[str]) -> dict[str, Path]:
    """The sub-folders of ``folder`` named one of ``names`` in any case; two spellings of one name are refused."""
    wanted = {name.lower(): name for name in names}
    found: dict[str, list[Path]] = defaultdict(list)
    for child in sorted(folder.iterdir()):
        if child.is_dir() and child.name.lower() in wanted:
            found[wanted[child.name.lower()]].append(child)
    refused([f"{' and '.join(repr(p.name) for p in paths)} are both {name}" for name, paths in found.items()
             if len(paths) > 1], f"RMB folder {os.fspath(folder)!r} has", "keep one of them")
    return {name: paths[0] for name, paths in found.items()}


def load_items(source: str, split: str | None, revision: str | None) -> tuple[list[Item], InputRef]:
    """Every RMB row under the local folder ``source`` as an item (``split`` and ``revision`` do not apply)."""
    root = find_root(source)
    rows: list[Any] = []
    places: list[tuple[str, str, str, str]] = []  # (place, set kind, goal, file)
    problems: list[str] = []
    for folder_name, folder in _children(root, SETS).items():
        for goal_name, goal_folder in _children(folder, GOALS).items():
            for file in sorted(goal_folder.rglob("*.json")):
                shown = file.relative_to(root).as_posix()
                try:
                    more, where = file_rows(file, shown, "RMB file")
                except EvalError as err:
                    problems.append(str(err))
                    continue
                rows += more
                places += [(f"RMB {place}", SETS[folder_name], goal_name, shown) for place in where]
        others = [p.name for p in sorted(folder.iterdir()) if (p.is_dir() or p.suffix.lower() == ".json")
                  and p.name.lower() not in {g.lower() for g in GOALS}]
        problems += [f"RMB {(folder / name).relative_to(root).as_posix()!r} is not under Helpfulness or "
                     "Harmlessness; keep the repository's layout" for name in others]
    refused(problems, f"--data {os.fspath(source)!r} has", "fix those files")
    items = every_row(zip(rows, places, strict=True), lambda row, at: _item(row, *at), "RMB --data has")
    if not items:
        raise EvalError(f"--data {os.fspath(source)!r} holds no RMB rows; point it at RMB_dataset.")
    return items, InputRef(name=f"RMB_dataset (local, {len(items)} rows)", revision=None,
                           sha256=checked_sha256(rows, [p[0] for p in places]))


def _item(row: Any, place: str, kind: str, goal: str, file: str) -> Item:
    uid, best, losers = _KEYS[kind]
    row = object_row(row, (uid, "conversation_input", best, losers, "category_path"), place)
    loser_list = [row[losers]] if kind == "pairwise" else row[losers]
    if not isinstance(loser_list, list) or not loser_list:
        raise EvalError(f"{place} has no losers; a best-of-N row needs a non-empty loser_list.")
    if not isinstance(row["conversation_input"], list):
        raise EvalError(f"{place} has a conversation_input that is not a list of messages; fix the row.")
    uid_text = row_id(row, uid, place)
    category = text_field(row, "category_path", place)
    payload = {"kind": kind, "category_path": category, "file": file,
               "conversation": [{"role": m.get("role"), "content": m.get("content")}
                                for m in row["conversation_input"] if isinstance(m, Mapping)],
               "best": _answer(row[best], place), "losers": [_answer(x, place) for x in loser_list]}
    part = f"{'Pairwise' if kind == 'pairwise' else 'BoN'} {goal.lower()}"  # one of PARTS
    return Item(f"{kind}:{category}:{uid_text}", part, payload, place=place)


def _answer(value: Any, place: str) -> tuple[str, str | None]:
    if not isinstance(value, Mapping) or not isinstance(value.get("answer"), str):
        raise EvalError(f"{place} has an answer that is not {{llm_name, answer}}; fix the row.")
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
    parts, categories = grouped(view, "subset"), grouped(view, "category_path")
    sections = section_scores({p: mean(v) for p, v in parts.items()})
    return {
        "overall": overall_mean(sections),
        "micro_mean": None,  # the parts are already micro means; one over pairs and BoN items would mean nothing
        "sections": sections,
        "subsets": {p: mean(parts[p]) for p in PARTS if parts.get(p)},
        "subset_items": {p: len(parts[p]) for p in PARTS if parts.get(p)},
        "categories": {c: mean(v) for c, v in sorted(categories.items())},
        "category_items": {c: len(v) for c, v in sorted(categories.items())},
        "random_order_expectation": random_order_expectation(view),
    }


def random_order_expectation(view: ViewInput) -> dict[str, Any] | None:
    """With both orders: the score expected from one random order per comparison (RM-R1's protocol).

    A pair scores its mean of orders; a best-of-N item the product over its comparisons of the share of
    orders won (each comparison's order drawn independently). None for any other view.
    """
    if view.view != "mean_of_orders":
        return None

    def expected(item_id: str, comparison_ids: list[str]) -> float:
        if view.comparisons[comparison_ids[0]].metadata["kind"] == "pairwise":
            return view.item_scores[item_id]
        picks = all_picks([view.verdicts[c] for c in comparison_ids], view.mode)
        return math.prod(sum(p is True for p in by_order.values()) / len(by_order) for by_order in picks)

    sections = section_scores({p: mean(v) for p, v in grouped(view, "subset", expected).items()})
    return {"sections": sections, "overall": overall_mean(sections)}


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown: accuracy per category path (the headline view)."""
    scores = headline_scores(summary)
    expected = scores.get("random_order_expectation")
    lines = [] if expected is None else [
        f"One-random-order expectation (RM-R1's protocol: one random order per comparison; the number comparable "
        f"with RM-R1's published RMB): {pct(expected['overall'])} ("
        + ", ".join(f"{p} {pct(v)}" for p, v in expected["sections"].items())
        + "). The headline needs a best-of-N win in every order, which is stricter.", ""]
    rows = [(c, scores["category_items"][c], pct(v)) for c, v in scores["categories"].items()]
    return [*lines, "## Category paths", "", *table(("category path", "items", "score"), rows)]


BENCHMARK = Benchmark(name=NAME, tool="eval.rmb", load=load_items, expand=expand, aggregate=aggregate,
                      sections=SECTIONS, conventions=AVERAGE, section_scores=section_scores,
                      overall_score=overall_mean, data_default=None, split=SPLIT, item_rule=item_rule,
                      score_label="score (mean of 4 parts)", notes=NOTES, report_lines=report_lines,
                      view_titles={"mean_of_orders": "mean of orders (BoN: every order)"}, official=OFFICIAL,
                      failure_rule=FAILURE_RULE)
