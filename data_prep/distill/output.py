"""The output of distill.py and released.py: verl ``MultiTurnSFTDataset`` rows
(:func:`data_prep.writers.sft_row`: the loss covers the trace only), their lengths, the seeded split (the
same kept traces give byte-identical parquet), the manifest, and the files landing together or not at all.

The manifest is an :class:`infra.run_metadata.RunMetadata` whose ``config`` carries what ``recipes.check``
compares with an SFT recipe (``data_kind: sft``, ``variant``, ``max_length``, ``tokenizer``,
``chat_template_kwargs``) plus the teachers, prices, filter, leak-list and correction-prompt versions;
``counts`` holds per pass ``asked`` / ``kept`` (pass 2: ``corrected``) / ``rejected`` by reason, the merged
result, tokens and cost over every response used, and the length statistics. What differs in a resumed or
repeated run (new requests, cache hits, this run's spend) is ``volatile``: the content hash is unchanged.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from data_prep.distill.checks import FILTER_VERSION, LEAK_PHRASES_VERSION, REASONS, TraceCheck, phrases_sha256
from data_prep.distill.passes import CORRECTION_PROMPT_VERSION, correction_sha256
from data_prep.errors import DataPrepError
from data_prep.writers import sft_row, write_parquet_rows
from infra.run_metadata import InputRef, OutputRef, RunMetadata, git_commit, now_volatile
from infra.staged_output import StagedOutput
from infra.user_json import read_json_file
from infra.versions import tool_version

# recipes/base/sft.yaml data.max_length (the paper's 12,288); a test keeps the two equal.
SFT_MAX_LENGTH = 12288
MANIFEST_NAME = "manifest.json"
DATA_KIND = "sft"
OUTPUT_NAMES = ("train.parquet", "val.parquet", MANIFEST_NAME)  # what an SFT folder's commit replaces
T = TypeVar("T")
STAGE_PREFIX, JOURNAL_KEY = ".commit-", "existed"
IDENTITY_KEY = "output_identity"  # where the identity lives in a manifest's config


@dataclass(frozen=True)
class SftExample:
    """One kept trace ready to write, with its length in tokens when known."""

    row_id: str
    messages: Sequence[Mapping[str, str]]  # the judge prompt (without the trace)
    trace: str
    data_source: str
    extra_info: Mapping[str, Any]
    length: int | None = None

    def row(self) -> dict[str, Any]:
        return sft_row(self.messages, self.trace, data_source_name=self.data_source, extra_info=self.extra_info)


def checked_counter(tokenizer: Any, chat_template_kwargs: Mapping[str, Any],
                    probe: SftExample) -> Callable[[SftExample], int]:
    """Tokens of a whole SFT row through the chat template (what ``data.max_length`` bounds), tried once on
    ``probe`` first, so template arguments that break the chat template (``{"tokenize": false}``, a kwarg the
    template rejects) fail before any request, not after."""

    def count(example: SftExample) -> int:
        messages = [*({"role": m["role"], "content": m["content"]} for m in example.messages),
                    {"role": "assistant", "content": example.trace}]
        ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=False,
                                            **dict(chat_template_kwargs))
        if isinstance(ids, Mapping):  # transformers 5 may hand back a BatchEncoding
            ids = ids["input_ids"]
        return len(ids)

    try:
        count(probe)
    except Exception as err:  # the template and tokenizers raise many types (TypeError, TemplateError, ...)
        raise DataPrepError(f"the tokenizer's chat template fails with --chat-template-kwargs "
                            f"{json.dumps(dict(chat_template_kwargs))[:80]} ({type(err).__name__}: "
                            f"{' '.join(str(err).split())[:120]}); drop the argument it names.") from None
    return count


def length_stats(lengths: Sequence[int], max_length: int | None, source: str, dropped: int) -> dict[str, Any]:
    """Min / mean / median / p95 / max of the kept rows' lengths, and how many were dropped as too long."""
    stats: dict[str, Any] = {"source": source, "max_length": max_length, "too_long_dropped": dropped,
                             "count": len(lengths)}
    if lengths:
        ordered = sorted(lengths)
        p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
        stats |= {"min": ordered[0], "mean": round(statistics.fmean(ordered), 1),
                  "median": statistics.median_low(ordered), "p95": p95, "max": ordered[-1]}
        if max_length:
            stats["max_fraction_of_limit"] = round(ordered[-1] / max_length, 4)
    return stats


def split_examples(items: Sequence[T], val_size: float, seed: int, *, order: Callable[[T], str],
                   prompt: Callable[[T], Hashable], salt: str = "sft-val") -> dict[str, list[T]]:
    """Seeded train/val split by prompt; ``val_size`` below 1 is a fraction, else a count, of distinct prompts.

    Every item of one prompt lands in the same split (a released set may hold several traces of a prompt), so
    validation never scores a prompt trained on. Both splits sorted by ``order``.
    """
    ordered = sorted(items, key=order)
    groups: dict[Hashable, int] = {}
    group_of = [groups.setdefault(prompt(e), len(groups)) for e in ordered]
    if val_size <= 0 or len(groups) < 2:
        return {"train": ordered, "val": []}
    wanted = int(val_size) if val_size >= 1 else max(1, round(val_size * len(groups)))
    chosen = set(random.Random(f"{salt}:{seed}").sample(range(len(groups)), min(wanted, len(groups) - 1)))
    return {"train": [e for e, g in zip(ordered, group_of, strict=True) if g not in chosen],
            "val": [e for e, g in zip(ordered, group_of, strict=True) if g in chosen]}


def prompt_text(example: SftExample) -> str:
    """The judge prompt of ``example`` as one string: equal for two traces of the same prompt."""
    return json.dumps([[m["role"], m["content"]] for m in example.messages], ensure_ascii=False)


def write_splits(splits: Mapping[str, Sequence[Mapping[str, Any]]], target: Callable[[str], Path]) -> list[OutputRef]:
    """Write ``{split}.parquet`` for each non-empty split at ``target(name)`` (a staging path: the caller
    commits them together); returns their refs, relative to the folder they are written in."""
    refs = []
    for split, rows in splits.items():
        if rows:
            path = target(f"{split}.parquet")
            refs.append(OutputRef.for_file(path, path.parent, rows=write_parquet_rows(rows, path)))
    return refs


def pass_counts(checks: Iterable[TraceCheck], kept_name: str = "kept") -> dict[str, Any]:
    """``asked``, ``kept`` (or ``corrected``), ``rejected`` per reason and the details per reason."""
    asked = 0
    rejected: Counter[str] = Counter()
    detail: dict[str, Counter[str]] = defaultdict(Counter)
    for check in checks:
        asked += 1
        if check.reason is not None:
            rejected[check.reason] += 1
            detail[check.reason][check.detail or ""] += 1
    return {
        "asked": asked,
        kept_name: asked - sum(rejected.values()),
        "rejected": {reason: rejected[reason] for reason in REASONS},
        "rejected_detail": {reason: dict(sorted(detail[reason].items())) for reason in sorted(detail)},
    }


def filter_config(variant: str, max_length: int | None, tokenizer: str | None,
                  chat_template_kwargs: Mapping[str, Any], splits: Iterable[str]) -> dict[str, Any]:
    """The ``config`` keys every SFT manifest has (what the recipe check reads, and the filter versions)."""
    return {
        "data_kind": DATA_KIND,
        "variant": variant,
        "max_length": max_length,
        "tokenizer": tokenizer,
        "chat_template_kwargs": dict(chat_template_kwargs),
        "splits": {split: f"{split}.parquet" for split in splits},
        "messages_key": "messages",
        "verdict_parse_mode": "strict",
        "trace_filter_version": FILTER_VERSION,
        "leak_phrases_version": LEAK_PHRASES_VERSION,
        "leak_phrases_sha256": phrases_sha256(),
        "correction_prompt_version": CORRECTION_PROMPT_VERSION,
        "correction_prompt_sha256": correction_sha256(),
    }


def run_manifest(*, tool: str, inputs: list[InputRef], prompt_version: str | None, seed: int,
                 config: Mapping[str, Any], counts: Mapping[str, Any], outputs: list[OutputRef],
                 model: str | None = None, sampling: Mapping[str, Any] | None = None,
                 volatile: Mapping[str, Any] | None = None) -> RunMetadata:
    """The manifest of a distill.py or released.py output (written by the caller to ``{out}/manifest.json``)."""
    return RunMetadata(
        tool=tool, tool_version=tool_version(), git_commit=git_commit(Path(__file__).resolve().parent),
        inputs=inputs, prompt_version=prompt_version, seed=seed, model=model, sampling=dict(sampling or {}),
        config=dict(config), counts=dict(counts), outputs=outputs, volatile=now_volatile(**(volatile or {})),
    )


class OutputError(DataPrepError):
    """An output folder that cannot be used (a file, read-only, in use, or holding another dataset)."""


class OutputFiles(StagedOutput):
    """The managed files committed into ``folder`` together (:class:`infra.staged_output.StagedOutput`), stale
    ones of an earlier run (a ``val.parquet`` when this run has none) removed in the same commit. ``identity``
    says what they are made from (tool, input hash, teacher model...): a folder whose manifest names another is
    refused before any work, naming what it holds, so two datasets never mix."""

    def __init__(self, folder: str | os.PathLike[str], managed: Sequence[str], identity: Mapping[str, Any]) -> None:
        super().__init__(folder, error=OutputError, prefix=STAGE_PREFIX, journal_key=JOURNAL_KEY,
                         check=lambda root: check_identity(root, managed, identity))
        self.managed = tuple(managed)

    def commit(self, names: Sequence[str] | None = None) -> None:
        super().commit(self.managed)


def check_identity(folder: Path, managed: Sequence[str], identity: Mapping[str, Any]) -> None:
    """Refuse ``folder`` when its files were made from something else than ``identity``."""
    present = [name for name in managed if (folder / name).exists()]
    data = read_json_file(folder / "manifest.json", default=None) if present else None
    config = data.get("config") if isinstance(data, dict) else None
    held = config.get(IDENTITY_KEY) if isinstance(config, dict) else None
    if not present or held == dict(identity):
        return
    if not isinstance(held, dict):
        what = f"holds {', '.join(present)} that no manifest of this tool describes"
    else:
        inputs = data.get("inputs") if isinstance(data, dict) else None
        names = [str(i.get("name")) for i in inputs if isinstance(i, dict)] if isinstance(inputs, list) else []
        diff = sorted(k for k in set(held) | set(identity) if held.get(k) != identity.get(k))
        what = f"holds data made from {', '.join(repr(n) for n in names[:3]) or 'another input'} (" + "; ".join(
            f"{k} {_short(held.get(k))}, not {_short(identity.get(k))}" for k in diff) + ")"
    raise OutputError(f"--out {os.fspath(folder)!r} {what}; so the two datasets do not mix, pass another --out "
                      f"or delete {', '.join(present)} there to replace them (anything else in it can stay).")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "...'"
