"""Flag parsing shared by distill.py and released.py: every bad value is one sentence, exit 2, before any work.

argparse's own errors print the usage block and a second line; :class:`OneLineParser` turns them into
a :class:`~data_prep.errors.DataPrepError` instead, so ``run_cli`` prints one line. The ``type=``
helpers refuse what would otherwise fail later with a traceback or be written into a manifest that
JSON cannot hold: NaN and infinity, numbers out of range, seeds that do not fit a parquet int64,
JSON nested too deeply or holding a 5,000-digit integer, and an API key pasted where the NAME of
its environment variable belongs.

>>> number(above=0)("2.5"), whole(least=1)("3"), seed("7")
(2.5, 3, 7)
>>> number(above=0)("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 'nan' is not a finite number above 0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from data_prep.errors import DataPrepError
from infra.cli_errors import OneLineParser

MAX_SEED = 2**63 - 1  # seeds are stored in rows' extra_info as parquet int64
_PATH_MAX, _NAME_MAX = 4096, 255  # Linux's limits; longer paths fail with ENAMETOOLONG
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")


class FlagError(DataPrepError):
    """A flag value that cannot work; the message names the flag and the fix."""


class OneLineParser(OneLineParser):
    """argparse errors as one FlagError sentence (exit 2)."""

    error_class = FlagError


def path_problem(text: str) -> str | None:
    """Why ``text`` cannot be a path on this system (too long, a part too long), or None."""
    encoded = os.fsencode(text)
    if len(encoded) >= _PATH_MAX:
        return f"is {len(encoded):,} bytes long, more than a path can be ({_PATH_MAX - 1:,})"
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > _NAME_MAX:
        return f"has a part of {longest:,} bytes, more than a file name can be ({_NAME_MAX})"
    return None


def path(text: str) -> Path:
    """A ``type=`` for an input path: non-empty and short enough to exist."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass a path")
    problem = path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{shown(text)} {problem}")
    return Path(text)


def location(text: str) -> str:
    """A ``type=`` for a path or a hub name, checked like :func:`path` and kept as given."""
    path(text)
    return text


def folder(text: str) -> Path:
    """``--out``: a non-empty path (an unset shell variable must not mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass the output folder")
    return path(text)


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut when long (a message stays one readable line)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"


def number(*, above: float | None = None, least: float | None = None) -> Callable[[str], float]:
    """A ``type=`` for a finite float ``> above`` or ``>= least``."""
    rule = f"above {above:g}" if above is not None else f"of {least:g} or more" if least is not None else ""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (above is None or value > above) and (least is None or value >= least)
        if not ok:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a finite number {rule}".rstrip())
        return value

    return parse


def whole(*, least: int) -> Callable[[str], int]:
    """A ``type=`` for a whole number of ``least`` or more (at most 18 digits: a count, not a seed)."""

    def parse(text: str) -> int:
        digits = text.strip()
        sign = digits[:1] == "-"
        body = digits[1:] if sign else digits
        if not (body.isascii() and body.isdigit()) or len(body) > 18 or (value := int(digits)) < least:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number of {least} or more")
        return value

    return parse


def seed(text: str) -> int:
    """A ``type=`` for a seed from 0 to 2**63-1."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or int(digits) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from 0 to 2**63-1")
    return int(digits)


def val_size(text: str) -> float:
    """A ``type=`` for a validation share below 1, or a whole count of 1 or more (0: no validation split)."""
    value = number(least=0)(text)
    if value >= 1 and (value != int(value) or value > 10**12):
        raise argparse.ArgumentTypeError(f"{shown(text)} is neither a share below 1 nor a whole row count")
    return value


def json_object(text: str) -> dict[str, Any]:
    """A ``type=`` for a JSON object of plain, finite values."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not JSON ({err.msg}); pass an object like '{{}}'") from err
    except (ValueError, RecursionError) as err:  # NaN/Infinity, a 5,000-digit number, or nesting too deep
        raise argparse.ArgumentTypeError(f"{shown(text)} cannot be used as JSON ({_why(err)}); pass a small object "
                                         "like '{\"top_p\": 0.9}'") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a JSON object; pass one like '{{\"top_p\": 0.9}}'")
    return value


def sampling_object(text: str) -> dict[str, Any]:
    """``--sampling``: a JSON object that leaves the request's own fields to the client."""
    value = json_object(text)
    owned = sorted(set(value) & {"model", "messages", "stream", "n"})
    if owned:
        raise argparse.ArgumentTypeError(f"{shown(text)} sets {owned}, which the client sets itself (one "
                                         "non-streamed answer per request); leave them out")
    return value


def env_name(text: str) -> str:
    """A ``type=`` for the NAME of an environment variable; never echoes the text (it may be the secret)."""
    if not _ENV_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError("the value is not the NAME of an environment variable (upper-case letters, "
                                         "digits, underscores, e.g. OPENAI_API_KEY) and is not shown, since it may "
                                         "be the key itself")
    return text


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _why(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "nested too deeply"
    return "an integer of more than 4,300 digits" if "digits" in str(err) else str(err)
