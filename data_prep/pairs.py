"""PreferencePair: the one shape every source is turned into before prompts are rendered.

A pair holds the shared context (``conversation``, ending with the client's turn) and the two
continuations that follow it (``chosen`` and ``rejected``, each starting with the assistant's reply).
A single-turn pair is one user message and one assistant reply per side; anything else is multi-turn
and is rendered as each side's whole conversation.

>>> pair = make_pair("demo", "What is 2+2?", "4", "5")
>>> pair.is_multi_turn, pair.chosen[0]["role"]
(False, 'assistant')
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from data_prep.errors import DataPrepError
from infra.user_json import lone_surrogate


class Message(TypedDict):
    """One chat message, as verl and transformers chat templates expect it."""

    role: str
    content: str


ROLES: tuple[str, ...] = ("system", "user", "assistant")
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")  # a source or variant name: part of data_source, a folder


class PairError(DataPrepError):
    """A row cannot become a PreferencePair; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class PreferencePair:
    """A conversation and two continuations, one preferred. Treat the message dicts as read-only."""

    id: str
    source: str
    conversation: tuple[Message, ...]
    chosen: tuple[Message, ...]
    rejected: tuple[Message, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_multi_turn(self) -> bool:
        """False only for one user message answered by one assistant message on each side."""
        return not is_single_turn(self.conversation, self.chosen, self.rejected)

    @property
    def conversation_key(self) -> str:
        """Hash of the shared context: pairs with the same prompt share it (and a split)."""
        payload = json.dumps([list(self.conversation)], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        """Compact, key-sorted JSON of every field (stable across runs), as rows carry it in ``extra_info.pair``."""
        data = {"id": self.id, "source": self.source, "conversation": list(self.conversation),
                "chosen": list(self.chosen), "rejected": list(self.rejected), "metadata": dict(self.metadata)}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def is_single_turn(conversation: Sequence[Message], response_a: Sequence[Message],
                   response_b: Sequence[Message]) -> bool:
    """True for one user message answered by exactly one assistant message on each side."""
    one_question = len(conversation) == 1 and conversation[0]["role"] == "user"
    return one_question and len(response_a) == 1 and len(response_b) == 1


def make_pair(source: str, conversation: str | Sequence[Mapping[str, Any]], chosen: str | Sequence[Mapping[str, Any]],
              rejected: str | Sequence[Mapping[str, Any]], *, pair_id: str | int | None = None,
              metadata: Mapping[str, Any] | None = None, allow_empty: bool = False) -> PreferencePair:
    """Validate and normalise one pair; raises :class:`PairError` with a one-sentence reason.

    Strings become single messages (the conversation a user turn, the answers assistant turns).
    Answer message lists that repeat the conversation first (full-conversation layouts) are cut back
    to the part after it. Without ``pair_id`` the id is a hash of the content, so it is stable.
    ``allow_empty`` keeps empty or whitespace-only turns (benchmarks score their official rows as published).
    """
    check_source_name(source)
    conv = _messages(conversation, "user", "conversation")
    sides = [_strip_prefix(_messages(side, "assistant", name), conv) for side, name in
             ((chosen, "chosen"), (rejected, "rejected"))]
    _check_shape(conv, sides[0], sides[1], allow_empty)
    meta = dict(metadata or {})
    try:
        json.dumps(meta, ensure_ascii=False, allow_nan=False).encode("utf-8")  # surrogates fail here too
    except (TypeError, ValueError) as err:
        raise PairError(f"metadata {meta!r} is not plain JSON ({err}); keep only strings, numbers and lists.") from err
    ident = str(pair_id) if pair_id is not None and str(pair_id) != "" else content_id(conv, sides[0], sides[1])
    _check_text(ident, "id")
    return PreferencePair(ident, source, conv, sides[0], sides[1], meta)


def content_id(conversation: Sequence[Message], chosen: Sequence[Message], rejected: Sequence[Message]) -> str:
    """A stable id from the content alone: identical pairs from any source get the same id.

    Every field is length-prefixed, so the hashed text is unambiguous; no JSON encoding, which costs
    more than the hash on long answers.
    """
    digest = hashlib.blake2b(digest_size=8)
    for side in (conversation, chosen, rejected):
        digest.update(f"{len(side)}|".encode())
        for message in side:
            content = message["content"].encode("utf-8", "surrogatepass")
            digest.update(f"{message['role']}|{len(content)}|".encode())
            digest.update(content)
    return "p" + digest.hexdigest()


def check_source_name(source: str) -> str:
    """Return ``source`` if it is a usable source name (it becomes part of verl's ``data_source``)."""
    if not isinstance(source, str) or not NAME.fullmatch(source):
        raise PairError(f"source name {source!r} must be 1-64 characters of lowercase letters, digits, '_', '.' or "
                        "'-'; rename it.")
    return source


def source_name_from(text: str) -> str:
    """A valid source name derived from free text such as a file name (``My File-2`` -> ``my_file-2``)."""
    name = re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_.-")[:64]
    return name or "local"


def split_shared_prefix(chosen: Sequence[Mapping[str, Any]], rejected: Sequence[Mapping[str, Any]]
                        ) -> tuple[list[Message], list[Message], list[Message]]:
    """Split two full conversations into (shared context, chosen tail, rejected tail).

    The context ends at the last user message both share; for layouts that store each side as
    a whole conversation (e.g. Skywork's), so the tails start with the first differing assistant turn.
    """
    a = _messages(chosen, "assistant", "chosen")
    b = _messages(rejected, "assistant", "rejected")
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    while common > 0 and a[common - 1]["role"] != "user":
        common -= 1
    return list(a[:common]), list(a[common:]), list(b[common:])


def _messages(value: Any, default_role: str, name: str) -> tuple[Message, ...]:
    if isinstance(value, str):
        _check_text(value, name)
        return (Message(role=default_role, content=value),)
    if not isinstance(value, Sequence) or isinstance(value, bytes):
        raise PairError(f"{name} is a {type(value).__name__}; give a string or a list of {{role, content}} messages.")
    out = []
    for i, msg in enumerate(value):
        if not isinstance(msg, Mapping) or not isinstance(msg.get("content"), str) or msg.get("role") not in ROLES:
            raise PairError(f"{name}[{i}] is {str(msg)[:80]!r}; each message needs a role in {ROLES} and a string "
                            "content.")
        _check_text(msg["content"], f"{name}[{i}]")
        out.append(Message(role=msg["role"], content=msg["content"]))
    return tuple(out)


def _check_text(text: str, name: str) -> None:
    """Refuse lone surrogates (a JSON escape such as \\ud800 with no partner): no UTF-8 writer can store them."""
    if problem := lone_surrogate(text):
        raise PairError(f"{name} {problem}; fix the escape in the source file or drop the row.")


def _strip_prefix(side: tuple[Message, ...], conv: tuple[Message, ...]) -> tuple[Message, ...]:
    if side and side[0]["role"] != "assistant" and side[: len(conv)] == conv:
        return side[len(conv) :]
    return side


def _check_shape(conv: tuple[Message, ...], chosen: tuple[Message, ...], rejected: tuple[Message, ...],
                 allow_empty: bool = False) -> None:
    if not conv or conv[-1]["role"] != "user":
        raise PairError("the conversation must end with the client's (user) message; fix the prompt or messages.")
    if any(m["role"] == "system" for m in conv[1:]):
        raise PairError("a system message may only open the conversation; move or drop the later ones.")
    for name, side in (("chosen", chosen), ("rejected", rejected)):
        if not side or side[0]["role"] != "assistant" or side[-1]["role"] != "assistant":
            raise PairError(f"{name} must start and end with an assistant reply after the conversation; fix it.")
        if any(m["role"] == "system" for m in side):
            raise PairError(f"{name} holds a system message; only the conversation may open with one.")
        if not allow_empty and any(not m["content"].strip() for m in side):
            raise PairError(f"{name} has an empty message; drop the row or fill in the reply.")
    if not allow_empty and any(not m["content"].strip() for m in conv if m["role"] == "user"):
        raise PairError("the conversation has an empty client message; drop the row or fill it in.")
