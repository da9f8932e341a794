"""The one input vocabulary of the project's CLIs: argparse ``type=`` helpers that refuse a bad value up front.

Each refuses, in one sentence (exit 2 through :class:`infra.cli_errors.OneLineParser`), what would
otherwise fail later with a traceback or land in a manifest that JSON cannot hold (tests/test_cli_flags.py
lists the cases).
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.user_json import BadJson, parse_json

MAX_SEED = 2**63 - 1  # seeds are stored in rows' extra_info as parquet int64
_PATH_MAX, _NAME_MAX = 4096, 255  # Linux's limits; longer paths fail with ENAMETOOLONG
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut when long (a message stays one readable line)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"


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
    """An input path: non-empty and short enough to exist."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass a path")
    problem = path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{shown(text)} {problem}")
    return Path(text)


def location(text: str) -> str:
    """A path or a hub name, checked like :func:`path` and kept as given."""
    path(text)
    return text


def folder(text: str) -> Path:
    """An output folder: a non-empty path (an unset shell variable must not mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass the output folder")
    return path(text)


def number(*, above: float | None = None, least: float | None = None, below: float | None = None
           ) -> Callable[[str], float]:
    """A finite float ``> above`` or ``>= least`` (and ``< below`` when given)."""
    rules = [f"above {above:g}" if above is not None else f"of {least:g} or more" if least is not None else "",
             f"below {below:g}" if below is not None else ""]
    rule = " and ".join(r for r in rules if r)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (above is None or value > above) and (least is None or value >= least) \
            and (below is None or value < below)
        if not ok:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a finite number {rule}".rstrip())
        return value

    return parse


def whole(*, least: int, most: int | None = None) -> Callable[[str], int]:
    """A whole number of ``least`` or more (at most ``most``; at most 18 digits: a count, not a seed)."""
    rule = f"from {least} to {most:,}" if most is not None else f"of {least} or more"

    def parse(text: str) -> int:
        digits = text.strip()
        body = digits[1:] if digits[:1] == "-" else digits
        if not (body.isascii() and body.isdigit()) or len(body) > 18 or not (
                least <= (value := int(digits)) <= (most if most is not None else value)):
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number {rule}")
        return value

    return parse


def seed(text: str) -> int:
    """A seed from 0 to 2**63-1 (Python refuses str->int past 4,300 digits, so the length is checked first)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or int(digits) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from 0 to 2**63-1")
    return int(digits)


def share_or_count(text: str) -> float:
    """A share below 1, or a whole count of 1 or more (0: none), e.g. a validation split."""
    value = number(least=0)(text)
    if value >= 1 and (value != int(value) or value > 10**12):
        raise argparse.ArgumentTypeError(f"{shown(text)} is neither a share below 1 nor a whole row count")
    return value


def json_object(text: str) -> dict[str, Any]:
    """A JSON object of plain, finite values (read by :func:`infra.user_json.parse_json`)."""
    try:
        value = parse_json(text)
    except BadJson as err:
        raise argparse.ArgumentTypeError(f"{shown(text)} {err}; pass a small JSON object like '{{\"top_p\": 0.9}}'"
                                         ) from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a JSON object; pass one like '{{\"top_p\": 0.9}}'")
    return value


def env_name(text: str) -> str:
    """The NAME of an environment variable; never echoes the text (it may be the secret itself)."""
    if not ENV_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError("the value is not the NAME of an environment variable (upper-case letters, "
                                         "digits, underscores, e.g. OPENAI_API_KEY) and is not shown, since it may "
                                         "be the key itself")
    return text
