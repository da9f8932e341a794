"""The one reader for JSON a user (or a server) hands us: every exotic-input guard lives here, once.

``json.loads`` alone lets through or crashes on: nesting deep enough to hit the recursion limit
(RecursionError), integers of more than 4,300 digits (ValueError from ``int``), ``NaN``/``Infinity``
(not JSON; they later break a strict writer), lone surrogate escapes such as ``"\\ud800"`` (they parse,
then fail when the text is written as UTF-8) and bytes that are not UTF-8. :func:`parse_json` turns
each into :class:`BadJson` carrying a short phrase for a message; :func:`load_json` words it as one
sentence naming the input and the fix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NoReturn

from infra.cli_errors import UserError

_MISSING: Any = object()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, a paired escape is already one code point


class BadJson(ValueError):
    """Text that is not usable JSON; ``str(err)`` is a short phrase such as "nested too deeply"."""


class JsonInputError(UserError):
    """JSON from a flag or a user's file that cannot be used; one sentence naming it and the fix."""


def parse_json(text: str | bytes, *, strict: bool = True) -> Any:
    """The value ``text`` holds, or :class:`BadJson` saying in a few words why it cannot be used.

    ``strict=False`` lets NaN/Infinity and lone surrogates through, for data files read as published
    (their readers report such fields per row themselves).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise BadJson(f"is not UTF-8 text (byte 0x{text[err.start]:02x} at offset {err.start})") from err
    try:
        value = json.loads(text, parse_constant=_no_constant) if strict else json.loads(text)
    except json.JSONDecodeError as err:
        raise BadJson(f"is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from err
    except RecursionError as err:
        raise BadJson("nests JSON arrays or objects too deeply to read") from err
    except ValueError as err:  # the int-digits limit, or a NaN/Infinity constant
        raise BadJson("holds an integer of more than 4,300 digits" if "digits" in str(err) else str(err)) from err
    if strict and "\\u" in text and (problem := _lone_surrogate_in(value)):
        raise BadJson(problem)
    return value


def load_json(text: str | bytes, where: str, fix: str) -> Any:
    """:func:`parse_json`, refusing bad input as ``"{where} {why}; {fix}."`` (exit 2)."""
    try:
        return parse_json(text)
    except BadJson as err:
        raise JsonInputError(f"{where} {err}; {fix}.") from err


def read_json_file(path: str | os.PathLike[str], default: Any = _MISSING, *, fix: str = "fix or replace the file",
                   ) -> Any:
    """The JSON value in the file ``path``; on any problem ``default`` when given, else a one-sentence error."""
    try:
        return parse_json(Path(path).read_bytes())
    except (OSError, BadJson) as err:
        if default is not _MISSING:
            return default
        if isinstance(err, OSError):
            raise
        raise JsonInputError(f"{os.fspath(path)!r} {err}; {fix}.") from err


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"holds {name}, which is not a JSON number")


def lone_surrogate(text: str) -> str | None:
    """The phrase for a string holding a lone surrogate (no UTF-8 writer can store it), else None."""
    found = None if text.isascii() else _LONE_SURROGATE.search(text)
    return None if found is None else f"holds a lone surrogate escape (\\u{ord(found.group()):04x}), which is not text"


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a broken ``\\ud800`` escape; not text) replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _lone_surrogate_in(value: Any) -> str | None:
    """:func:`lone_surrogate`'s phrase for the first string (key or value) in ``value`` that holds one."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if problem := lone_surrogate(item):
                return problem
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def json_kind(value: Any) -> str:
    """The JSON name of a value's type (``object``, ``list``, ``string``, ...), for a message."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "list"
    return {str: "string", bool: "boolean", type(None): "null", int: "number", float: "number"}.get(
        type(value), type(value).__name__)
