"""Source adapters: each turns one input into a stream of :class:`~data_prep.pairs.PreferencePair`.

Two kinds, read by :mod:`data_prep.collect`:

* ``--inputs`` files, named by an :class:`InputSpec` and read strictly by
  :mod:`data_prep.adapters.local_file` (:func:`open_input`): a bad row is an error naming the file;
* the hub-schema sources of a mix (Skywork, Code-Preference-Pairs, Math-Step-DPO), one table in
  :mod:`data_prep.adapters.hub`, read leniently: a bad row is a counted drop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data_prep.adapters.local_file import InputFileError, read_local_pairs
from data_prep.pairs import PairError, PreferencePair, check_source_name
from infra.run_metadata import InputRef, sha256_file

__all__ = ["InputFileError", "InputSpec", "input_ref", "open_input", "parse_input_spec"]


@dataclass(frozen=True)
class InputSpec:
    """One input: where it is and, optionally, the source name its rows get (else per row / file name)."""

    location: str
    source: str | None = None


def parse_input_spec(text: str) -> InputSpec:
    """``PATH`` or ``SOURCE=PATH`` (e.g. ``skywork=data/skywork.jsonl``) as given to ``--inputs``."""
    name, sep, rest = text.partition("=")
    if sep and name and "/" not in name and os.sep not in name and not Path(text).exists():
        try:
            return InputSpec(location=rest, source=check_source_name(name))
        except PairError as err:
            raise InputFileError(f"input {text!r} names source {name!r}, which is not valid: {err}") from err
    return InputSpec(location=text)


def open_input(spec: InputSpec) -> Iterator[PreferencePair]:
    """The pairs of one input, in its order."""
    return read_local_pairs(spec.location, source=spec.source)


def input_ref(spec: InputSpec) -> InputRef:
    """How a manifest records this input: the name as given, and the file's sha256."""
    return InputRef(name=spec.location, revision=None, sha256=sha256_file(spec.location))
