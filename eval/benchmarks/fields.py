"""Typed reads of benchmark row fields: each bad value is one sentence naming the row's place and the fix.

Rows come from files users edit and from hub exports, so a field may be null, a number where text
belongs, or a list where a label belongs (which would otherwise surface as ``TypeError: unhashable``
or as the id ``"None"``).

>>> row_id({"id": 7}, "id", "line 1 of x.jsonl")
'7'
>>> row_id({"id": None}, "id", "row 1")
Traceback (most recent call last):
...
eval.errors.EvalError: row 1 has id None; an id must be a non-empty string or a whole number, so fix the row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from eval.errors import EvalError, refused

T = TypeVar("T")
P = TypeVar("P")  # a row's place: ``line 7 of x.jsonl``, or that with what else the loader knows of the row


def every_row(rows: Iterable[tuple[Any, P]], make: Callable[[Any, P], T], what: str) -> list[T]:
    """``make(row, place)`` for every row; the rows it refuses are all named in one error (not the first only)."""
    made: list[T] = []
    problems: list[str] = []
    for row, place in rows:
        try:
            made.append(make(row, place))
        except EvalError as err:
            problems.append(str(err))
    refused(problems, what, "fix or drop those rows")
    return made


def object_row(row: Mapping[str, Any], columns: Sequence[str], place: str) -> Mapping[str, Any]:
    """``row`` if it holds every one of ``columns`` (the row reader refused rows that are not objects)."""
    missing = [c for c in columns if c not in row]
    if missing:
        raise EvalError(f"{place} lacks columns {missing}; rows need {list(columns)}.")
    return row


def row_id(row: Mapping[str, Any], column: str, place: str) -> str:
    """The row's id as text: a non-empty string or a whole number (never null, a bool, a float or a list)."""
    value = row[column]
    if (isinstance(value, str) and value.strip()) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise EvalError(f"{place} has {column} {_shown(value)}; an id must be a non-empty string or a whole number, "
                    "so fix the row.")


def text_field(row: Mapping[str, Any], column: str, place: str) -> str:
    """A field that must be text (a source, a category path)."""
    value = row[column]
    if isinstance(value, str):
        return value
    raise EvalError(f"{place} has {column} {_shown(value)}; it must be text, so fix the row.")


def label_field(row: Mapping[str, Any], column: str, allowed: Collection[str], place: str) -> str:
    """A field that must be one of ``allowed`` (a domain, a subset, a label); checked by type before membership."""
    value = row[column]
    if isinstance(value, str) and value in allowed:
        return value
    raise EvalError(f"{place} has {column} {_shown(value)}; expected one of {sorted(allowed)}, so fix the row.")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
