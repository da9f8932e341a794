"""Rows to distill: ``distill.parquet`` as the data builder writes it (verl's RL row schema).

Each row brings its rendered judge prompt (``prompt``), the chosen answer's position
(``reward_model.ground_truth``) and ``extra_info`` with ``pair_id`` (the row id: outputs are sorted
by it), ``variant`` and ``prompt_version``. Every row must share one variant and one prompt version:
the SFT set trains one prompt. The file may also be JSON lines or a JSON list of such rows
(:mod:`infra.row_files`). Every row is checked before a single request is sent, including that what
goes back into the SFT parquet can be stored there, so a bad row never costs a paid run.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.distill.passes import DistillRow
from data_prep.distill.released_schema import chat_messages, checked_text
from data_prep.errors import DataPrepError
from infra.row_files import RowFileError, iter_rows
from infra.run_metadata import InputRef, sha256_file
from reward_fns import LABELS

REQUIRED_COLUMNS: tuple[str, ...] = ("prompt", "reward_model", "extra_info", "data_source")
_REBUILD = "rebuild it with build_parquet.py --distill-fraction"


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
    name = repr(os.fspath(path))
    file = Path(path)
    if file.is_dir():
        raise DistillInputError(f"input {name} is a folder; pass the distill.parquet file itself "
                                "(e.g. data/rm_r1/instruct/distill.parquet).")
    if not file.is_file():
        raise DistillInputError(f"input {name} does not exist; pass the distill.parquet that "
                                "build_parquet.py --distill-fraction wrote (e.g. data/rm_r1/instruct/distill.parquet).")
    try:
        rows = sorted((_row(raw, place, name) for place, raw in iter_rows(file)), key=lambda r: r.row_id)
    except RowFileError as err:
        raise DistillInputError(f"input: {err}") from err
    if not rows:
        raise DistillInputError(f"input {name} has no rows; build it with --distill-fraction above 0.")
    _check_unique(rows, name)
    rows = rows[:limit] if limit else rows
    variants = sorted({r.variant for r in rows})
    versions = sorted({str(r.extra_info.get("prompt_version")) for r in rows})
    if len(variants) != 1 or len(versions) != 1:
        raise DistillInputError(f"input {name} mixes prompt variants {variants} / versions {versions}; distill "
                                "one variant's distill.parquet at a time.")
    _check_storable(rows, name)
    return DistillSource(rows, variants[0], versions[0], InputRef(name=os.fspath(path), sha256=sha256_file(path)))


def _row(raw: Mapping[str, Any], place: str, name: str) -> DistillRow:
    at = f"input {name} {place}"
    missing = [c for c in REQUIRED_COLUMNS if c not in raw]
    if missing:
        raise DistillInputError(f"{at} lacks columns {missing} (found {sorted(raw)}); pass a distill.parquet from "
                                "build_parquet.py (verl RL rows), not SFT or released data.")
    reward, extra, source = raw["reward_model"], raw["extra_info"], raw["data_source"]
    if not isinstance(reward, Mapping) or reward.get("ground_truth") not in LABELS:
        raise DistillInputError(f"{at}: reward_model is not an object with ground_truth A or B; {_REBUILD}.")
    if not isinstance(extra, Mapping):
        raise DistillInputError(f"{at}: extra_info is not an object; {_REBUILD}.")
    pair_id, variant = extra.get("pair_id"), extra.get("variant")
    if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)) or pair_id == "":
        raise DistillInputError(f"{at}: extra_info.pair_id is missing or not a string; {_REBUILD}.")
    if not isinstance(variant, str) or not variant:
        raise DistillInputError(f"{at}: extra_info.variant is missing or not a string; {_REBUILD}.")
    if source is not None and not isinstance(source, str):
        raise DistillInputError(f"{at}: data_source is not a string (it is {type(source).__name__}); {_REBUILD}.")
    messages = chat_messages(raw["prompt"], at, _REBUILD, DistillInputError, "prompt")
    for text in (str(pair_id), variant, source or ""):
        checked_text(text, at, DistillInputError)
    return DistillRow(str(pair_id), tuple(messages), reward["ground_truth"], variant, source or "", dict(extra))


def _check_storable(rows: list[DistillRow], name: str) -> None:
    """The extra_info that goes back into the SFT parquet must make one parquet column (checked before asking)."""
    import pyarrow as pa

    try:
        pa.Table.from_pylist([{"extra_info": {**r.extra_info, "distill_pass": "", "teacher_model": ""}} for r in rows])
    except (pa.ArrowException, OverflowError, ValueError, TypeError) as err:
        raise DistillInputError(f"input {name}: extra_info cannot be stored in parquet ({str(err)[:120]}); its rows "
                                f"must share one layout of plain values; {_REBUILD}.") from err


def _check_unique(rows: list[DistillRow], name: str) -> None:
    for before, after in itertools.pairwise(rows):
        if before.row_id == after.row_id:
            raise DistillInputError(f"input {name} holds pair id {after.row_id!r} twice; rebuild it so ids are "
                                    "unique (outputs are sorted and cached by id).")
