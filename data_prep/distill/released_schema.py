"""The datasets upstream RM-R1 released, read by their schema, and their prompts parsed back into pairs.

Three sets, two columns each:

* RL sets (``gaotang/RM-R1-after-Distill-RLVR``: instruct, a system message first;
  ``gaotang/RM-R1-Reasoning-RLVR``: reasoning, one user message): ``context_messages`` (the rendered
  judge prompt, a list of ``{role, content}``) and ``winner`` in {``model_a``, ``model_b``};
* the SFT set (``gaotang/RM-R1-Distill-SFT``): ``context_messages`` and ``winner`` holding the trace.

:func:`parse_prompt` reads a rendered user message back from upstream's framing (the patterns below;
upstream's strings, not our prompt's, which is :mod:`data_prep.prompts`). Upstream's mixing script spelled
the rejected side "Chabot B" in some multi-turn rows, only when A won: a label leak, which
:func:`has_label_leak` detects so it can be counted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from data_prep.errors import DataPrepError
from data_prep.pairs import Message
from infra.user_json import json_kind, lone_surrogate

COLUMNS: tuple[str, str] = ("context_messages", "winner")
WINNERS: dict[str, str] = {"model_a": "A", "model_b": "B"}
ROLES = ("system", "user", "assistant")
QUESTION_HEADER = "[Client Question]"
_NAME = r"Chat?bot {label}"  # "Chabot": upstream's misspelling (see has_label_leak)
_RESPONSE = (r"\[The Start of " + _NAME + r"'s Response\]", r"\[The End of " + _NAME + r"'s Response\]")
_CONVERSATION = (r"\[The Start of the Conversation between " + _NAME + r" and the Client\]",
                 r"\[The End of the Conversation between " + _NAME + r" and the Client\]")
_SPEAKER = re.compile(r"^(User|Chat?bot [AB]):[ \t]?", re.MULTILINE)
_MISSPELLED = re.compile(r"\bChabot [AB]\b")


class ReleasedDataError(DataPrepError):
    """A released dataset or one of its rows cannot be read; the message names it and the fix."""


@dataclass(frozen=True)
class ParsedPrompt:
    """A released prompt read back: the shared context and each side's continuation."""

    conversation: tuple[Message, ...]
    answer_a: tuple[Message, ...]
    answer_b: tuple[Message, ...]
    multi_turn: bool


def detect(columns: Sequence[str], first_rows: Sequence[Mapping[str, Any]], where: str) -> str:
    """``rl`` or ``sft`` from the columns and the first rows' ``winner`` values."""
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise ReleasedDataError(f"{where} lacks columns {missing} (found {sorted(columns)}); released RM-R1 data has "
                                "context_messages and winner (pass our own pair files to build_parquet.py instead).")
    winners = [row.get("winner") for row in first_rows]
    if winners and all(isinstance(w, str) and w in WINNERS for w in winners):
        return "rl"
    if winners and all(isinstance(w, str) and w not in WINNERS for w in winners):
        return "sft"
    raise ReleasedDataError(f"{where}: winner holds {sorted({str(w)[:20] for w in winners})}, neither all model_a/"
                            "model_b (an RL set) nor all traces (the SFT set); pass one released dataset at a time.")


def winner_of(row: Mapping[str, Any], where: str) -> str:
    """An RL row's ``winner`` (``model_a`` or ``model_b``), refused in one sentence when it is anything else."""
    value = row.get("winner")
    if isinstance(value, str) and value in WINNERS:
        return value
    kind = "a string" if isinstance(value, str) else f"a JSON {json_kind(value)}"
    raise ReleasedDataError(f"{where}: winner is {kind} ({str(value)[:40]!r}), not 'model_a' or 'model_b'; fix or "
                            "drop the row.")


def chat_messages(value: Any, at: str, fix: str = "re-download it", error: type[DataPrepError] = ReleasedDataError,
                  name: str = "context_messages") -> list[dict[str, str]]:
    """``value`` as {role, content} messages ending with the user's; anything else refused in one sentence that
    names ``fix`` (the released sets' ``context_messages``, distill.parquet's ``prompt``)."""
    if not isinstance(value, list) or not value:
        what = "an empty list" if isinstance(value, list) else f"a JSON {json_kind(value)}"
        raise error(f"{at}: {name} is {what}, not a list of messages; {fix}.")
    out = []
    for message in value:
        if not isinstance(message, Mapping) or message.get("role") not in ROLES \
                or not isinstance(message.get("content"), str):
            raise error(f"{at}: {name} holds {str(message)[:80]!r}, not a {{role, content}} message with role one "
                        f"of {list(ROLES)}; {fix}.")
        out.append({"role": message["role"], "content": checked_text(message["content"], at, error)})
    if out[-1]["role"] != "user":
        raise error(f"{at}: {name} does not end with the user message; {fix}.")
    return out


def checked_text(text: str, at: str, error: type[DataPrepError] = ReleasedDataError) -> str:
    """``text``, refused when it holds a lone surrogate (a broken escape that parquet and UTF-8 cannot store)."""
    if problem := lone_surrogate(text):
        raise error(f"{at} {problem}; fix the row or drop it.")
    return text


def variant_of(messages: Sequence[Mapping[str, str]]) -> str:
    """``instruct`` when a system message carries the instructions, else ``reasoning``."""
    return "instruct" if messages[0]["role"] == "system" else "reasoning"


def has_label_leak(text: str) -> bool:
    """True if the prompt spells a chatbot "Chabot" (upstream's winner-dependent misspelling)."""
    return bool(_MISSPELLED.search(text))


def row_id(messages: Sequence[Mapping[str, str]], winner: str) -> str:
    """A stable id from the row's content (the released sets have no id column)."""
    blob = json.dumps([list(map(dict, messages)), winner], ensure_ascii=False, separators=(",", ":"))
    return "u" + hashlib.blake2b(blob.encode("utf-8"), digest_size=8).hexdigest()


def same_candidates(text: str) -> bool:
    """True when a released prompt's two candidates are the same text (False when it does not parse back)."""
    try:
        parsed = parse_prompt(text, "")
    except ReleasedDataError:
        return False
    return parsed.answer_a == parsed.answer_b


def prompt_key(messages: Sequence[Mapping[str, str]]) -> bytes:
    """A digest of a released prompt: equal for the same messages, so repeats can be found in little memory."""
    blob = json.dumps([list(map(dict, messages))], ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).digest()


def parse_prompt(text: str, where: str) -> ParsedPrompt:
    """Read one rendered user message back; raises :class:`ReleasedDataError` if it does not parse."""
    if re.search(_CONVERSATION[0].format(label="A"), text):
        return _multi_turn(text, where)
    blocks = _blocks(text, _RESPONSE, where, "response")
    head = text.find(QUESTION_HEADER)
    if head < 0 or head > blocks[0][0]:
        raise ReleasedDataError(f"{where}: no {QUESTION_HEADER} header before Chatbot A's response; the row is not in "
                                "upstream's framing (fix or drop it).")
    question = text[head + len(QUESTION_HEADER):blocks[0][0]].strip()
    answers = [text[start:end].strip("\n") for _, start, end in blocks]
    if not question or not all(a.strip() for a in answers):
        raise ReleasedDataError(f"{where}: the question or an answer is empty; fix or drop the row.")
    return ParsedPrompt((Message(role="user", content=question),), (Message(role="assistant", content=answers[0]),),
                        (Message(role="assistant", content=answers[1]),), multi_turn=False)


def _blocks(text: str, markers: tuple[str, str], where: str, what: str) -> list[tuple[int, int, int]]:
    """(marker start, body start, body end) of the A and then the B block."""
    found = []
    lo = 0
    for label in ("A", "B"):
        start = re.compile(markers[0].format(label=label)).search(text, lo)
        ends = list(re.compile(markers[1].format(label=label)).finditer(text, start.end())) if start else []
        if start is None or not ends:
            raise ReleasedDataError(f"{where}: no complete Chatbot {label} {what} block; the row is not in upstream's "
                                    "framing (fix or drop it).")
        nxt = re.compile(markers[0].format(label="B")).search(text, start.end()) if label == "A" else None
        usable = [e for e in ends if nxt is None or e.start() < nxt.start()]  # A's end comes before B's start
        if not usable:
            raise ReleasedDataError(f"{where}: Chatbot A's {what} block does not end before Chatbot B's starts.")
        end = usable[-1]
        found.append((start.start(), start.end(), end.start()))
        lo = end.end()
    return found


def _multi_turn(text: str, where: str) -> ParsedPrompt:
    from data_prep.pairs import split_shared_prefix

    blocks = _blocks(text, _CONVERSATION, where, "conversation")
    sides = [_turns(text[start:end], label, where) for (_, start, end), label in zip(blocks, "AB", strict=True)]
    conversation, tail_a, tail_b = split_shared_prefix(sides[0], sides[1])
    if not conversation or not tail_a or not tail_b:
        raise ReleasedDataError(f"{where}: the two conversations share no client turn or do not differ; fix or drop "
                                "the row.")
    return ParsedPrompt(tuple(conversation), tuple(tail_a), tuple(tail_b), multi_turn=True)


def _turns(body: str, label: str, where: str) -> list[Message]:
    marks = list(_SPEAKER.finditer(body))
    if not marks or body[:marks[0].start()].strip():
        raise ReleasedDataError(f"{where}: Chatbot {label}'s conversation does not start with a 'User:' line.")
    turns = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        speaker = mark.group(1)
        if speaker != "User" and not speaker.endswith(label):
            raise ReleasedDataError(f"{where}: Chatbot {label}'s conversation has a {speaker!r} line; fix or drop it.")
        turns.append(Message(role="user" if speaker == "User" else "assistant", content=body[mark.end():end].strip()))
    if turns[-1]["role"] != "assistant" or any(not t["content"] for t in turns):
        raise ReleasedDataError(f"{where}: Chatbot {label}'s conversation has an empty turn or does not end with its "
                                "reply; fix or drop the row.")
    return turns
