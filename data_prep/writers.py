"""Rows in verl's schemas (RL rows for ``RLHFDataset``, SFT rows for ``MultiTurnSFTDataset``) and
parquet writes.

``extra_info.pair`` is the pair as JSON, so any row can be re-rendered in the other A/B order
(:func:`data_prep.pairs.make_pair` of its fields, then :func:`data_prep.prompts.render_pair`). Every row has
the same ``extra_info`` keys: Arrow infers one struct type.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate, render_pair
from reward_fns import VERDICT_FORMAT_VERSION

DATA_SOURCE_PREFIX = "rm_r1"
ABILITY = "preference"
PARQUET_CHUNK_ROWS = 1024  # rows per row group and per write: memory holds one chunk


def data_source(source: str) -> str:
    """verl's per-source metric key for a source name (``skywork`` -> ``rm_r1/skywork``)."""
    return f"{DATA_SOURCE_PREFIX}/{source}"


def rl_row(pair: PreferencePair, *, template: PromptTemplate, chosen_position: str, split: str, index: int,
           variant: str, seed: int) -> dict[str, Any]:
    """One RL parquet row: the rendered judge prompt and the position of the chosen answer."""
    return {
        "data_source": data_source(pair.source),
        "prompt": render_pair(template, pair, chosen_position),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": chosen_position},
        "extra_info": {
            "split": split,
            "index": index,
            "pair_id": pair.id,
            "source": pair.source,
            "chosen_position": chosen_position,
            "multi_turn": pair.is_multi_turn,
            "variant": variant,
            "prompt_version": template.version,
            "template_sha256": template.sha256,
            "verdict_format_version": VERDICT_FORMAT_VERSION,
            "seed": seed,
            "pair": pair.to_json(),
        },
    }


def sft_row(prompt: Sequence[Mapping[str, str]], response: str, *, data_source_name: str,
            extra_info: Mapping[str, Any]) -> dict[str, Any]:
    """One SFT row: the judge prompt followed by the assistant's trace (which ends in the verdict)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
    messages.append({"role": "assistant", "content": response})
    return {"messages": messages, "data_source": data_source_name, "extra_info": dict(extra_info)}


def write_parquet_rows(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str],
                       chunk_rows: int = PARQUET_CHUNK_ROWS) -> int:
    """Stream rows to ``path``, ``chunk_rows`` per row group; returns the row count.

    Every product caller writes into a :class:`infra.staged_output.StagedOutput` staging folder, whose
    commit is the atomic step. Memory holds one chunk, not the file. The schema is inferred from the first
    chunk (every row has the same keys and types), and fixed chunk sizes keep the bytes identical from
    build to build.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    stream = iter(rows)
    table = pa.Table.from_pylist(list(itertools.islice(stream, chunk_rows)))
    if not table.num_rows:
        raise ValueError(f"refusing to write {os.fspath(path)!r} with no rows; an empty split is a build error.")
    count = 0
    with pq.ParquetWriter(path, table.schema) as writer:
        while table.num_rows:
            writer.write_table(table, row_group_size=chunk_rows)
            count += table.num_rows
            table = pa.Table.from_pylist(list(itertools.islice(stream, chunk_rows)), schema=writer.schema)
    return count
