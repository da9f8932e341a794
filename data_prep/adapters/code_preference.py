"""Vezora/Code-Preference-Pairs rows to pairs.

Schema: ``input`` (the programming request), ``accepted`` (the preferred answer), ``rejected``; all
strings. The mix keeps a seeded sample of 8,000 rows (see ``data_prep/mixes/rm_r1.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_prep.adapters.row_problem import RowProblem, text_field

HUB = "Vezora/Code-Preference-Pairs"
COLUMNS: tuple[str, ...] = ("input", "accepted", "rejected")
SUBSET_COLUMN = None


def convert(row: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(question, chosen answer, rejected answer) of one row; raises RowProblem for a bad row."""
    question, accepted, rejected = (text_field(row, c) for c in COLUMNS)
    if not accepted.strip() or not rejected.strip():
        raise RowProblem("empty", "accepted or rejected is empty")
    return question, accepted, rejected
