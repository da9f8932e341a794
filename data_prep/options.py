"""BuildOptions: everything a build depends on, in a module of its own.

The stages (:mod:`data_prep.collect`, :mod:`data_prep.manifest`, :mod:`data_prep.pipeline`) all read
the options, so they live below all of them and import none of them: no import circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_prep.adapters import InputSpec
from data_prep.benchmark_prompts import BenchmarkSpec
from data_prep.decontamination import DEFAULT_NGRAM, DEFAULT_THRESHOLD
from data_prep.mix import Mix
from data_prep.prompts import VARIANTS

DEFAULT_OUT = Path("data/rm_r1")  # where the recipes look by default (recipes/variant/*.yaml)
DEFAULT_VAL_SIZE = 0.02
DEFAULT_MAX_PROMPT_LENGTH = 4096  # the paper's data.max_prompt_length


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build depends on (all of it is recorded in each variant's manifest)."""

    inputs: tuple[InputSpec, ...] = ()
    out: Path = DEFAULT_OUT
    variants: tuple[str, ...] = VARIANTS
    val_size: float = DEFAULT_VAL_SIZE
    distill_fraction: float = 0.0
    seed: int = 0
    prompt_template: Path | None = None
    tokenizer: str | None = None
    max_prompt_length: int | None = None
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    progress: bool = True
    mix: Mix | None = None
    benchmarks: tuple[BenchmarkSpec, ...] = ()
    decontam_ngram: int = DEFAULT_NGRAM
    decontam_threshold: float = DEFAULT_THRESHOLD
