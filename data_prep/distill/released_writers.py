"""What each released dataset becomes: verl RL rows with the released prompt, our pair file, or SFT examples.

* ``prompts`` (an RL set): every row as a verl RL row whose ``prompt`` is the released
  ``context_messages`` unchanged and whose ground truth is the winner; prompt version
  :data:`RELEASED_PROMPT_VERSION`. Rows whose prompt carries upstream's "Chabot" label leak are kept
  (the prompt is not ours to edit) and counted in the manifest and in ``extra_info.label_leak``.
* ``pairs`` (an RL set): every row parsed back into a :class:`~data_prep.pairs.PreferencePair`
  (winner = chosen) and written as a pair file that ``build_parquet.py --inputs`` reads, so our
  cleaning, neutralisation, decontamination and prompt apply. A row that does not parse stops the run.
* the SFT set: each trace as an :class:`~data_prep.distill.output.SftExample` after the trace filter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.distill.checks import TraceCheck, check_trace
from data_prep.distill.output import SftExample
from data_prep.distill.released_schema import (
    WINNERS,
    ReleasedDataError,
    checked_text,
    has_label_leak,
    messages_of,
    parse_prompt,
    row_id,
    variant_of,
    winner_of,
)
from data_prep.pairs import PairError, PreferencePair, make_pair
from data_prep.writers import ABILITY, data_source
from infra.atomic_files import atomic_path
from reward_fns import VERDICT_FORMAT_VERSION

RELEASED_PROMPT_VERSION = "upstream-released"


def rl_row(raw: Mapping[str, Any], number: int, source: str, where: str) -> dict[str, Any]:
    """One released RL row as a verl RL row (split, index and seed are filled in when written)."""
    messages = messages_of(raw, f"{where} row {number}")
    label = WINNERS[winner_of(raw, f"{where} row {number}")]
    text = messages[-1]["content"]
    return {
        "data_source": data_source(source),
        "prompt": [dict(m) for m in messages],
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": label},
        "extra_info": {
            "split": "", "index": 0, "pair_id": row_id(messages, raw["winner"]), "source": source,
            "chosen_position": label, "multi_turn": "Conversation between" in text, "variant": variant_of(messages),
            "prompt_version": RELEASED_PROMPT_VERSION, "template_sha256": "",
            "verdict_format_version": VERDICT_FORMAT_VERSION, "seed": 0, "label_leak": has_label_leak(text),
            "released_row": number,
        },
    }


def placed(rows: Sequence[dict[str, Any]], split: str, seed: int) -> Iterator[dict[str, Any]]:
    """``rows`` with their split, index and seed filled in."""
    for index, row in enumerate(rows):
        yield {**row, "extra_info": {**row["extra_info"], "split": split, "index": index, "seed": seed}}


def released_pair(raw: Mapping[str, Any], number: int, source: str, where: str) -> PreferencePair:
    """One released RL row parsed back into a pair (chosen = the winner's side); raises on any bad row."""
    at = f"{where} row {number}"
    messages = messages_of(raw, at)
    parsed = parse_prompt(messages[-1]["content"], at)
    chosen, rejected = (parsed.answer_a, parsed.answer_b) if winner_of(raw, at) == "model_a" else \
        (parsed.answer_b, parsed.answer_a)
    metadata = {"released_row": number, "released_variant": variant_of(messages),
                "label_leak": has_label_leak(messages[-1]["content"])}
    try:
        return make_pair(source, list(parsed.conversation), list(chosen), list(rejected),
                         pair_id=row_id(messages, raw["winner"]), metadata=metadata)
    except PairError as err:
        raise ReleasedDataError(f"{at}: {err}") from err


def write_pair_file(pairs: Sequence[PreferencePair], path: Path) -> Path:
    """The pairs as JSON lines in build_parquet.py's input format (id, source, messages, chosen, rejected, metadata)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for pair in sorted(pairs, key=lambda p: p.id):
            record = {"id": pair.id, "source": pair.source, "messages": [dict(m) for m in pair.conversation],
                      "chosen": [dict(m) for m in pair.chosen], "rejected": [dict(m) for m in pair.rejected],
                      "metadata": dict(pair.metadata)}
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def sft_example(raw: Mapping[str, Any], number: int, source: str, where: str) -> tuple[SftExample, TraceCheck]:
    """One released trace as an SFT example and what the trace filter says of it.

    The released SFT set carries no labels, so the verdict must be a strict verdict but cannot be
    compared with a ground truth; the structure and leak checks apply as to a corrected trace.
    """
    at = f"{where} row {number}"
    messages = messages_of(raw, at)
    trace = raw.get("winner")
    if not isinstance(trace, str):
        raise ReleasedDataError(f"{at}: winner is not the trace text; pass the released SFT set unchanged.")
    checked_text(trace, at)
    variant = variant_of(messages)
    check = check_trace(trace, None, variant, check_leak=True)
    extra = {"source": source, "released_row": number, "variant": variant,
             "label_leak": has_label_leak(messages[-1]["content"]), "verdict": check.label or ""}
    example = SftExample(row_id(messages, trace), tuple(messages), trace, data_source(source), extra)
    return example, check
