"""Phrases that show a corrected trace was told its verdict (pass 2 of distillation), versioned.

Pass 2 shows the teacher its wrong judgment and the correct verdict. A trace that then says "as
instructed" or "the correct verdict is" teaches the student to expect a hint it will never get, so
such traces are rejected and counted, never edited. The list is matched case-insensitively with runs
of whitespace read as one space, against the whole trace (thinking included). Changing the list
changes which traces survive: bump :data:`LEAK_PHRASES_VERSION` with it (a test pins the pair).

>>> find_leak("Weighing both replies, and as I was told, B wins.")
'i was told'
>>> find_leak("Chatbot B's proof is correct.") is None
True
"""

from __future__ import annotations

import hashlib
import re

LEAK_PHRASES_VERSION = "leak-v1"
LEAK_PHRASES: tuple[str, ...] = (
    "the correct verdict is",
    "the correct verdict was",
    "the correct answer is [[",
    "the right verdict is",
    "the expected verdict",
    "the provided verdict",
    "the given verdict",
    "the reference verdict",
    "as instructed",
    "as you instructed",
    "as you said",
    "as you mentioned",
    "as you pointed out",
    "you told me",
    "i was told",
    "i've been told",
    "i have been told",
    "i was informed",
    "i've been informed",
    "i was given the answer",
    "my previous judgment",
    "my previous judgement",
    "my earlier judgment",
    "my earlier judgement",
    "my previous evaluation",
    "my previous answer",
    "my initial judgment",
    "my initial judgement",
    "revised judgment",
    "revised judgement",
    "corrected judgment",
    "corrected judgement",
    "i apologize",
    "i apologise",
    "apologies for",
    "i was wrong",
    "i made a mistake",
    "upon reconsideration",
    "on reconsideration",
    "on second thought",
)
_SPACE = re.compile(r"\s+")


def phrases_sha256() -> str:
    """Hash of the phrase list, recorded in the manifest beside the version."""
    return hashlib.sha256("\n".join(LEAK_PHRASES).encode("utf-8")).hexdigest()


def find_leak(text: str) -> str | None:
    """The first phrase of :data:`LEAK_PHRASES` that ``text`` contains, else None."""
    folded = _SPACE.sub(" ", text.lower().replace("\u2019", "'"))  # a typographic apostrophe reads as '
    for phrase in LEAK_PHRASES:
        if phrase in folded:
            return phrase
    return None
