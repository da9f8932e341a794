"""xinlai/Math-Step-DPO-10K rows to pairs.

Schema: ``prompt`` (the problem), ``initial_reason_steps`` (correct steps both answers share),
``full_chosen`` and ``full_rejected`` (the continuations); other columns (``dataset``, ``answer``,
``chosen``, ``rejected``) are ignored except ``dataset``, which names the subset. As upstream, each
answer is ``initial_reason_steps + full_*`` concatenated as is (a missing prefix counts as empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_prep.adapters.row_problem import RowProblem, text_field

HUB = "xinlai/Math-Step-DPO-10K"
COLUMNS: tuple[str, ...] = ("prompt", "initial_reason_steps", "full_chosen", "full_rejected")
SUBSET_COLUMN = "dataset"


def convert(row: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(problem, prefix + full_chosen, prefix + full_rejected) of one row; raises RowProblem for a bad row."""
    prompt = text_field(row, "prompt")
    prefix = "" if row.get("initial_reason_steps") is None else text_field(row, "initial_reason_steps")
    chosen, rejected = text_field(row, "full_chosen"), text_field(row, "full_rejected")
    if not chosen.strip() or not rejected.strip():
        raise RowProblem("empty", "full_chosen or full_rejected is empty")
    return prompt, prefix + chosen, prefix + rejected
