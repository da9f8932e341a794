"""Synthetic benchmark data in the official layouts and sizes, with the quirks of the real files.

Every builder writes made-up rows (never real benchmark text) in the exact file names, folder layouts
and row counts the benchmarks publish (``eval/benchmarks/*.py`` hold the counts), so a run over them
is a complete official run. The better answer carries :data:`MARK`, so the loopback marker judge
(picks the marked answer, ``A`` when both or neither are) scores every ordinary comparison right;
the quirks of the real files are planted at known rows and scored by hand in tests/test_official_*.py:

* identical answers (both marked: the judge answers A in both orders; one generation serves both);
* empty or whitespace-only answers, and a conversation whose last user turn is empty;
* RM-Bench's per-domain repository files with integer ids repeating across files (and the
  ``total_dataset.json`` beside them, which must not be read);
* JudgeBench's two files ``dataset=judgebench,response_model=...jsonl`` in one folder;
* RMB's 98 files; its best-of-N counts split over the files, pairwise rows (count not published) few.

    python -m testkit.official_layouts OUT    # writes OUT/{rewardbench,rewardbench2,rmbench,rmb,judgebench}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eval.benchmarks import judgebench, rewardbench, rewardbench2, rmb, rmbench

MARK = "(checked)"
SAME = f"Both candidates say this {MARK}"  # identical answers: marked in both, so the judge falls back to A
JUDGEBENCH_FILES = {"gpt": "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl",
                    "claude": "dataset=judgebench,response_model=claude-3-5-sonnet-20240620.jsonl"}
RMB_PAIRS_PER_FILE = 2


def _good(n: int | str) -> str:
    return f"A careful answer number {n} {MARK}"


def _bad(n: int | str, k: int = 0) -> str:
    return f"A sloppy answer number {n}, variant {k}"


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=0), encoding="utf-8")
    return path


def rewardbench_file(path: Path) -> Path:
    """2,985 rows; ``alpacaeval-easy`` rows 0-2: identical answers, a whitespace-only rejected, an empty chosen."""
    rows = []
    for subset, count in rewardbench.OFFICIAL.counts[rewardbench.SPLIT].items():
        for n in range(count or 0):
            rows.append({"id": f"{subset}-{n}", "prompt": f"Question {n} of {subset}?", "chosen": _good(n),
                         "rejected": _bad(n), "subset": subset, "chosen_model": "m1", "rejected_model": "m2"})
    rows[0] |= {"chosen": SAME, "rejected": SAME}
    rows[1] |= {"rejected": "  \n"}
    rows[2] |= {"chosen": ""}
    return _jsonl(path, rows)


def rewardbench2_file(path: Path) -> Path:
    """1,865 rows; Ties rows alternate 1 and 2 correct answers; Factuality row 0 repeats its chosen as a rejected."""
    rows = []
    for subset, count in rewardbench2.OFFICIAL.counts[rewardbench2.SPLIT].items():
        for n in range(count or 0):
            chosen = [_good(n)] + ([_good(f"{n}b")] if subset == rewardbench2.TIES and n % 2 else [])
            rows.append({"id": f"{subset}-{n}", "prompt": f"Question {n} of {subset}?", "chosen": chosen,
                         "rejected": [_bad(n, k) for k in range(3)], "num_correct": len(chosen), "num_incorrect": 3,
                         "total_completions": len(chosen) + 3, "models": [], "subset": subset})
    rows[0] |= {"chosen": [SAME], "rejected": [SAME, _bad(0, 1), _bad(0, 2)]}
    return _jsonl(path, rows)


def rmbench_repository(root: Path) -> Path:
    """``root/data/<domain>_filtered.json`` with ids 0.. in every file, plus a ``total_dataset.json`` decoy.

    chat id 0: chosen[0] equals rejected[0] (unmarked both: the judge falls back to A); code id 0: rejected[2]
    is whitespace only.
    """
    data = root / "data"
    for domain, count in rmbench.OFFICIAL.counts[rmbench.SPLIT].items():
        rows: list[dict[str, Any]] = [{"id": n, "subset": f"source-{n % 3}", "prompt": f"Question {n} about {domain}?",
                 "chosen": [_good(f"{n}.{k}") for k in range(3)], "rejected": [_bad(n, k) for k in range(3)],
                 "error_key": "none", "error": ""} for n in range(count or 0)]
        if domain == "chat":
            rows[0]["chosen"][0] = rows[0]["rejected"][0] = "Same plain text"
        if domain == "code":
            rows[0]["rejected"][2] = " \t "
        _json(data / f"{domain}_filtered.json", rows)
    _json(data / "total_dataset.json", [{"id": 0, "note": "not a per-domain file"}])
    return data


def judgebench_folder(folder: Path) -> Path:
    """Both splits' files in one folder: gpt 350 pairs, claude 270 (pair 265 of claude has identical responses)."""
    for split, name in JUDGEBENCH_FILES.items():
        rows = []
        for n in range(judgebench.OFFICIAL.counts[split][judgebench.SUBSET] or 0):
            good_first = n % 2 == 0
            answers = (_good(n), _bad(n)) if good_first else (_bad(n), _good(n))
            rows.append({"pair_id": f"{split}-{n}", "original_id": f"o{n}",
                         "source": f"{judgebench.PREFIXES[n % 4]}-synthetic", "question": f"Question {n}?",
                         "response_model": split, "response_A": answers[0], "response_B": answers[1],
                         "label": "A>B" if good_first else "B>A"})
        if split == "claude":
            rows[264] |= {"response_A": SAME, "response_B": SAME}
        _jsonl(folder / name, rows)
    return folder


def rmb_dataset(root: Path, pairs_per_file: int = RMB_PAIRS_PER_FILE, bon: tuple[int, int] | None = None) -> Path:
    """``root/RMB_dataset`` with 98 files: per set 11 ``S*.json`` + ``multi.json`` and 37 helpfulness scenarios.

    Best-of-N rows (2 losers each) total the official 2,109 / 1,677. Quirks: the first pairwise helpfulness
    row has identical answers (unmarked); the first pairwise harmlessness row a whitespace-only rejected answer;
    the first BoN helpfulness item a loser identical to its best (both marked); the first BoN harmlessness item
    a multi-turn conversation whose last user turn is empty, the second a single empty user turn. ``bon``
    (helpfulness, harmlessness) shrinks the best-of-N rows for a quick partial run.
    """
    dataset = root / "RMB_dataset"
    harmless = [f"Harmlessness/S{k}.json" for k in range(1, 12)] + ["Harmlessness/multi.json"]
    helpful = [f"Helpfulness/Category {k // 5}/Scenario {k}.json" for k in range(37)]
    counts = rmb.OFFICIAL.counts["all"]
    for folder, kind in rmb.SETS.items():
        for goal, files in (("Helpfulness", helpful), ("Harmlessness", harmless)):
            official = counts[f"BoN {goal.lower()}"] if bon is None else bon[goal == "Harmlessness"]
            assert official is not None  # both best-of-N totals are published
            total = official if kind == "bon" else pairs_per_file * len(files)
            for index, file in enumerate(files):
                size = total // len(files) + (index < total % len(files))
                _json(dataset / folder / file, [_rmb_row(kind, f"{folder}/{file}", n) for n in range(size)])
    _plant_rmb_quirks(dataset, helpful[0], harmless[0])
    return dataset


def _rmb_row(kind: str, category: str, n: int) -> dict[str, Any]:
    conversation = [{"role": "user", "content": f"Request {n} in {category}", "language": "English"}]
    if kind == "pairwise":
        return {"pair_uid": f"p{n}", "conversation_input": conversation, "category_path": category,
                "chosen": {"llm_name": "m1", "answer": _good(n)}, "reject": {"llm_name": "m2", "answer": _bad(n)}}
    return {"bon_uid": f"b{n}", "conversation_input": conversation, "category_path": category,
            "bon_best": {"llm_name": "m1", "answer": _good(n)},
            "loser_list": [{"llm_name": f"m{k + 2}", "answer": _bad(n, k)} for k in range(2)]}


def _plant_rmb_quirks(dataset: Path, helpful: str, harmless: str) -> None:
    def edit(path: Path, change: Any) -> None:
        rows = json.loads(path.read_text(encoding="utf-8"))
        change(rows)
        _json(path, rows)

    def pair_same(rows: list[dict[str, Any]]) -> None:
        rows[0]["chosen"]["answer"] = rows[0]["reject"]["answer"] = "Same plain text"

    def pair_blank(rows: list[dict[str, Any]]) -> None:
        rows[0]["reject"]["answer"] = "   "

    def bon_same(rows: list[dict[str, Any]]) -> None:
        rows[0]["loser_list"][0]["answer"] = rows[0]["bon_best"]["answer"] = SAME

    def bon_empty_turn(rows: list[dict[str, Any]]) -> None:
        rows[0]["conversation_input"] += [{"role": "assistant", "content": "Earlier reply", "language": "English"},
                                          {"role": "user", "content": "", "language": "English"}]
        rows[1]["conversation_input"][0]["content"] = ""

    edit(dataset / "Pairwise_set" / helpful, pair_same)
    edit(dataset / "Pairwise_set" / harmless, pair_blank)
    edit(dataset / "BoN_set" / helpful, bon_same)
    edit(dataset / "BoN_set" / harmless, bon_empty_turn)


def write_all(out: Path) -> dict[str, Path]:
    """Every benchmark's fixture under ``out``: the ``--data`` path of each."""
    return {"rewardbench": rewardbench_file(out / "rewardbench" / "filtered.jsonl"),
            "rewardbench2": rewardbench2_file(out / "rewardbench2" / "test.jsonl"),
            "rmbench": rmbench_repository(out / "rmbench"),
            "rmb": rmb_dataset(out / "rmb"),
            "judgebench": judgebench_folder(out / "judgebench" / "data")}


if __name__ == "__main__":
    for name, path in write_all(Path(sys.argv[1])).items():
        print(f"{name}={path}")
