"""The manifest of an SFT trace set (teacher distillation or the released upstream traces).

An :class:`infra.run_metadata.RunMetadata` whose ``config`` carries what ``recipes.check`` compares
with an SFT recipe (``data_kind: sft``, ``variant``, ``max_length``, ``tokenizer``,
``chat_template_kwargs``) plus the teachers, prices, filter, leak-list and correction-prompt versions;
``counts`` holds per pass ``asked`` / ``kept`` (pass 2: ``corrected``) / ``rejected`` by reason (with
details such as the verdict failure, the structure problem or the leaked phrase), the merged result,
tokens and cost over every response used, and the length statistics. What differs between a first
run and a resumed or repeated one (new requests, cache hits, this run's spend) is ``volatile``, so
the content hash of a rerun's manifest is unchanged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from data_prep.distill.checks import FILTER_VERSION, REASONS, TraceCheck
from data_prep.distill.leaks import LEAK_PHRASES_VERSION, phrases_sha256
from data_prep.distill.output import DATA_KIND
from data_prep.distill.prompts import CORRECTION_PROMPT_VERSION, correction_sha256
from infra.run_metadata import InputRef, OutputRef, RunMetadata, git_commit, now_volatile
from infra.versions import tool_version


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
