"""Skywork/Skywork-Reward-Preference-80K-v0.2 rows to pairs.

Schema: ``chosen`` and ``rejected`` are whole conversations (lists of ``{role, content}``) that share
the prompt turns and differ in the final assistant turn(s); ``source`` names the subset
(magpie_pro_llama3.1, offset_bias, helpsteer2, wildguard, magpie_pro, magpie_ultra). Single- and
multi-turn rows both occur; the shared turns become the pair's conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_prep.adapters.row_problem import RowProblem
from data_prep.pairs import PairError, split_shared_prefix

HUB = "Skywork/Skywork-Reward-Preference-80K-v0.2"
COLUMNS: tuple[str, ...] = ("chosen", "rejected", "source")
SUBSET_COLUMN = "source"


def convert(row: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(conversation, chosen tail, rejected tail) of one row; raises RowProblem for a malformed row."""
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if not isinstance(chosen, list) or not isinstance(rejected, list):
        raise RowProblem("malformed", "chosen and rejected must be lists of messages")
    try:
        conversation, chosen_tail, rejected_tail = split_shared_prefix(chosen, rejected)
    except PairError as err:
        raise RowProblem("malformed", str(err)) from err
    if not conversation:
        raise RowProblem("malformed", "chosen and rejected share no client turn")
    return conversation, chosen_tail, rejected_tail
