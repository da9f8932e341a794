"""Flags only distill.py and released.py have; the shared vocabulary is :mod:`infra.cli_flags`."""

from __future__ import annotations

import argparse
from typing import Any

from data_prep.errors import DataPrepError
from infra.cli_flags import json_object, shown


class FlagError(DataPrepError):
    """A flag value that cannot work; the message names the flag and the fix."""


def sampling_object(text: str) -> dict[str, Any]:
    """``--sampling``: a JSON object that leaves the request's own fields to the client."""
    value = json_object(text)
    owned = sorted(set(value) & {"model", "messages", "stream", "n"})
    if owned:
        raise argparse.ArgumentTypeError(f"{shown(text)} sets {owned}, which the client sets itself (one "
                                         "non-streamed answer per request); leave them out")
    return value
