"""Rows to distill: ``distill.parquet`` as the data builder writes it (verl's RL row schema).

Each row brings its rendered judge prompt (``prompt``), the chosen answer's position
(``reward_model.ground_truth``) and ``extra_info`` with ``pair_id`` (the row id: outputs are sorted
by it), ``variant`` and ``prompt_version``. Every row must share one variant and one prompt version:
the SFT set trains one prompt.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from data_prep.distill_passes import DistillRow
from data_prep.errors import DataPrepError
from infra.run_metadata import InputRef, sha256_file
from reward_fns import LABELS

REQUIRED_COLUMNS: tuple[str, ...] = ("prompt", "reward_model", "extra_info", "data_source")


class DistillInputError(DataPrepError):
    """The distillation input is not a distill.parquet the data builder wrote."""


@dataclass(frozen=True)
class DistillSource:
    """The rows of one input file and what they share."""

    rows: list[DistillRow]
    variant: str
    prompt_version: str
    input_ref: InputRef


def read_distill_rows(path: Path, limit: int | None = None) -> DistillSource:
    """The rows of ``path`` sorted by id (the first ``limit`` of them, for a trial run)."""
    import pyarrow.parquet as pq

    name = os.fspath(path)
    if not Path(path).is_file():
        raise DistillInputError(f"input {name!r} does not exist; pass the distill.parquet that "
                                "build_parquet.py --distill-fraction wrote (e.g. data/rm_r1/instruct/distill.parquet).")
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise DistillInputError(f"input {name!r} is not a readable parquet file ({err}); rebuild it.") from err
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise DistillInputError(f"input {name!r} lacks columns {missing} (found {sorted(table.column_names)}); pass "
                                "a distill.parquet from build_parquet.py (verl RL rows), not SFT or released data.")
    rows = sorted((_row(raw, i, name) for i, raw in enumerate(table.to_pylist(), start=1)), key=lambda r: r.row_id)
    if not rows:
        raise DistillInputError(f"input {name!r} has no rows; build it with --distill-fraction above 0.")
    _check_unique(rows, name)
    rows = rows[:limit] if limit else rows
    variants = sorted({r.variant for r in rows})
    versions = sorted({str(r.extra_info.get("prompt_version")) for r in rows})
    if len(variants) != 1 or len(versions) != 1:
        raise DistillInputError(f"input {name!r} mixes prompt variants {variants} / versions {versions}; distill "
                                "one variant's distill.parquet at a time.")
    return DistillSource(rows, variants[0], versions[0], InputRef(name=name, sha256=sha256_file(path)))


def _row(raw: dict, number: int, name: str) -> DistillRow:
    extra = raw.get("extra_info") or {}
    truth = (raw.get("reward_model") or {}).get("ground_truth")
    prompt = raw.get("prompt")
    if truth not in LABELS or not isinstance(prompt, list) or not prompt or not extra.get("pair_id"):
        raise DistillInputError(f"input {name!r} row {number} lacks a prompt, an A/B ground truth or "
                                "extra_info.pair_id; rebuild it with build_parquet.py.")
    variant = str(extra.get("variant") or "")
    if not variant:
        raise DistillInputError(f"input {name!r} row {number} has no extra_info.variant; rebuild it with "
                                "build_parquet.py.")
    messages = tuple({"role": str(m["role"]), "content": str(m["content"])} for m in prompt)
    return DistillRow(str(extra["pair_id"]), messages, truth, variant, str(raw.get("data_source") or ""), extra)


def _check_unique(rows: list[DistillRow], name: str) -> None:
    for before, after in itertools.pairwise(rows):
        if before.row_id == after.row_id:
            raise DistillInputError(f"input {name!r} holds pair id {after.row_id!r} twice; rebuild it so ids are "
                                    "unique (outputs are sorted and cached by id).")
