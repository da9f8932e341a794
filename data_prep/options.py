"""BuildOptions and :func:`check_options`, below every stage that reads them (so none imports another for them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_prep.adapters import InputSpec
from data_prep.benchmark_prompts import BenchmarkSpec
from data_prep.decontamination import DEFAULT_NGRAM, DEFAULT_THRESHOLD
from data_prep.errors import BuildError
from data_prep.mix import Mix
from data_prep.pairs import NAME
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
    adversarial_fraction: float = 0.0  # defence pairs (data_prep/robustness/defence.py) per input pair


def check_options(options: BuildOptions) -> None:
    """Raise :class:`BuildError` for values and combinations that cannot work, before anything is read."""
    if not options.inputs and options.mix is None:
        raise BuildError("no inputs given; pass --mix rm_r1 or --inputs FILE (for a first run: "
                         "preflight/samples/pairs.jsonl).")
    if not options.variants:
        raise BuildError("no variant given; pass --variant instruct and/or reasoning.")
    if options.prompt_template is not None and len(options.variants) != 1:
        raise BuildError("--prompt-template replaces one variant's prompt; pass exactly one --variant with it.")
    if options.prompt_template is None and (bad := [v for v in options.variants if v not in VARIANTS]):
        raise BuildError(f"variants {bad} are not among {list(VARIANTS)}; pick those, or give --prompt-template.")
    if bad := [v for v in options.variants if not NAME.fullmatch(v)]:
        raise BuildError(f"variant names {bad} cannot name a folder; use lowercase letters, digits, '_', '.' or '-'.")
    if (options.tokenizer is None) != (options.max_prompt_length is None):
        raise BuildError("--tokenizer and --max-prompt-length work together; pass both or neither.")
    # --seed, --max-prompt-length and --decontam-ngram are refused by their flag types (infra.cli_flags)
    val = options.val_size
    if not math.isfinite(val) or val <= 0 or (val >= 1 and val != int(val)):
        raise BuildError(f"--val-size {val} is not a fraction in (0, 1) or a whole count of pairs; pass e.g. 0.02 "
                         "or 500 (a zero size would leave val.parquet empty).")
    if not (math.isfinite(options.distill_fraction) and 0 <= options.distill_fraction < 1):
        raise BuildError(f"--distill-fraction {options.distill_fraction} is not in [0, 1); pass e.g. 0.12, or 0.")
    if not (math.isfinite(options.adversarial_fraction) and 0 <= options.adversarial_fraction <= 1):
        raise BuildError(f"--adversarial {options.adversarial_fraction} is not in [0, 1]; pass e.g. 0.1, or 0.")
    if not (math.isfinite(options.decontam_threshold) and 0 < options.decontam_threshold <= 1):
        raise BuildError(f"--decontam-threshold {options.decontam_threshold} is not in (0, 1]; pass e.g. 0.5.")
    for path in (spec.location for spec in options.inputs):
        if Path(path).is_dir():
            raise BuildError(f"input {path!r} passed to --inputs is a folder; pass its .jsonl/.json/.parquet files "
                             "(a folder in a hub dataset's layout goes to --mix with --source NAME=DIR).")
        if not Path(path).is_file():
            raise BuildError(f"input file {path!r} does not exist; check the path passed to --inputs.")
