"""What a hub adapter raises for a row that cannot become a pair (counted, never fatal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class RowProblem(Exception):
    """A row dropped for ``reason`` (``malformed`` or ``empty``), with a short ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def text_field(row: Mapping[str, Any], column: str) -> str:
    """``row[column]`` if it is a string; a non-string is a malformed row."""
    value = row.get(column)
    if not isinstance(value, str):
        raise RowProblem("malformed", f"{column} is {type(value).__name__}, not text")
    return value
