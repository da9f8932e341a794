"""The ONE home of the judge prompts: templates, their version, and rendering to chat messages.

Training rows, distillation requests and every benchmark render prompts here, so the judge is always
shown the same framing. Built-in templates live in ``data_prep/templates/{variant}.txt``:

* ``instruct``: a system message with the Chain-of-Rubrics instructions + a user message with the
  question and both candidates (Qwen2.5-Instruct style).
* ``reasoning``: one user message (short instruction, question, candidates) that ends with the
  verdict-format instruction (R1-Distill style: no system message).

A template file has up to three sections, each opened by a header line: ``=== system ===``,
``=== user_single ===`` (required) and ``=== user_multi ===``. Text before the first header is a
comment. Placeholders: ``{question}``, ``{answer_a}``, ``{answer_b}`` (single-turn),
``{conversation_a}``, ``{conversation_b}`` (multi-turn) and ``{verdict_a}``, ``{verdict_b}``, which
are filled from :func:`reward_fns.format_verdict` so the verdict format is never retyped.

Versioning: :data:`PROMPT_VERSION` names the built-in set; ``templates/prompt_versions.json`` records
the content hash of every built-in template under each version, and a test fails when a hash changes
but the version did not. A template loaded from a file gets ``file-<hash>`` as its version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from data_prep.errors import DataPrepError
from data_prep.pairs import Message, PreferencePair, is_single_turn
from reward_fns import LABELS, VERDICT_FORMAT_VERSION, format_verdict
from reward_fns.pointwise import POINTWISE_FORMAT_VERSION, format_score

PROMPT_VERSION = "cor-v1"
VARIANTS: tuple[str, ...] = ("instruct", "reasoning")
SECTIONS: tuple[str, ...] = ("system", "user_single", "user_multi")

# Candidate delimiters (start, end) per label: the one copy (testkit's loopback judge reads candidates with them).
RESPONSE_MARKERS: dict[str, tuple[str, str]] = {
    label: (f"[The Start of Chatbot {label}'s Response]", f"[The End of Chatbot {label}'s Response]") for label in "AB"}
CONVERSATION_MARKERS: dict[str, tuple[str, str]] = {
    label: (f"[The Start of Conversation between Chatbot {label} and the Client]",
            f"[The End of Conversation between Chatbot {label} and the Client]") for label in "AB"}

# How a multi-turn conversation is written out: neutral speaker names, one block per turn.
CLIENT_NAME = "Client"
SYSTEM_NAME = "System"
TURN_FORMAT = "{speaker}: {content}"
TURN_SEPARATOR = "\n\n"

_HEADER = re.compile(r"^=== ([a-z_]+) ===[ \t]*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_VERDICTS = ("verdict_a", "verdict_b")
_REQUIRED = {"system": (), "user_single": ("question", "answer_a", "answer_b"),
             "user_multi": ("conversation_a", "conversation_b")}


class TemplateError(DataPrepError):
    """A template file is unusable; the message names the file and the fix."""


@dataclass(frozen=True)
class PromptTemplate:
    """A judge prompt: optional system text and user texts for single- and multi-turn pairs."""

    name: str
    version: str
    sha256: str
    origin: str
    user_single: str
    system: str | None = None
    user_multi: str | None = None


def template_sha256(sections: dict[str, str | None]) -> str:
    """Content hash of a template's sections and of everything outside them that shapes a rendered prompt."""
    render = {"client_name": CLIENT_NAME, "system_name": SYSTEM_NAME, "turn_format": TURN_FORMAT,
              "turn_separator": TURN_SEPARATOR, "verdicts": [format_verdict(label) for label in LABELS],
              "verdict_format_version": VERDICT_FORMAT_VERSION}
    payload = {"sections": {k: sections.get(k) for k in SECTIONS}, "render": render}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def parse_template(text: str, origin: str, name: str, version: str | None = None) -> PromptTemplate:
    """Parse and validate template text; ``version`` defaults to ``file-<first 12 hex of the hash>``."""
    headers = list(_HEADER.finditer(text))
    if not headers:
        raise TemplateError(f"template {origin} has no '=== user_single ===' header; add the section headers.")
    sections: dict[str, str | None] = dict.fromkeys(SECTIONS)
    for i, match in enumerate(headers):
        section = match.group(1)
        if section not in SECTIONS or sections[section] is not None:
            raise TemplateError(
                f"template {origin} has an unknown or repeated section {section!r}; use each of {SECTIONS} once."
            )
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        sections[section] = text[match.end() : end].strip()
    _validate(sections, origin)
    digest = template_sha256(sections)
    return PromptTemplate(
        name=name,
        version=version or f"file-{digest[:12]}",
        sha256=digest,
        origin=origin,
        user_single=sections["user_single"] or "",
        system=sections["system"],
        user_multi=sections["user_multi"],
    )


def _validate(sections: dict[str, str | None], origin: str) -> None:
    if not sections["user_single"]:
        raise TemplateError(f"template {origin} has no user_single section; add '=== user_single ===' with text.")
    for section, text in sections.items():
        if text is None:
            continue
        found = set(_PLACEHOLDER.findall(text))
        allowed = set(_REQUIRED[section]) | set(_VERDICTS)
        if found - allowed:
            raise TemplateError(
                f"template {origin} section {section} uses unknown placeholders {sorted(found - allowed)}; "
                f"it may use only {sorted(allowed)}."
            )
        missing = [p for p in _REQUIRED[section] if p not in found]
        if section != "system":
            missing += [p for p in _VERDICTS if p not in found and f"{{{p}}}" not in (sections["system"] or "")]
        if missing:
            raise TemplateError(
                f"template {origin} section {section} lacks placeholders {missing}; add them "
                "(write the verdict as {verdict_a}/{verdict_b}, never literally)."
            )


@cache
def builtin_template(variant: str) -> PromptTemplate:
    """The shipped template for ``variant`` (``instruct`` or ``reasoning``)."""
    if variant not in VARIANTS:
        raise TemplateError(f"prompt variant {variant!r} is not one of {VARIANTS}; pick one of them.")
    text = (resources.files("data_prep") / "templates" / f"{variant}.txt").read_text(encoding="utf-8")
    return parse_template(text, origin=f"builtin:{variant}", name=variant, version=PROMPT_VERSION)


def load_template(path: str | os.PathLike[str], name: str | None = None) -> PromptTemplate:
    """Load a template file (e.g. the prompt a released checkpoint was trained with)."""
    file = Path(path)
    if not file.is_file():
        raise TemplateError(f"prompt template {os.fspath(path)!r} does not exist; pass an existing file.")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise TemplateError(f"prompt template {os.fspath(path)!r} is not UTF-8 text; re-save it as UTF-8.") from err
    return parse_template(text, origin=os.fspath(path), name=name or file.stem)


def render_turns(messages: Sequence[Message], label: str) -> str:
    """Write a conversation out with neutral names: Client, Chatbot ``label``, System."""
    names = {"user": CLIENT_NAME, "assistant": f"Chatbot {label}", "system": SYSTEM_NAME}
    return TURN_SEPARATOR.join(TURN_FORMAT.format(speaker=names[m["role"]], content=m["content"]) for m in messages)


def render_judge_prompt(
    template: PromptTemplate,
    conversation: Sequence[Message],
    response_a: Sequence[Message],
    response_b: Sequence[Message],
) -> list[Message]:
    """The judge's chat messages for a context and the two continuations shown as A and B."""
    values = {"verdict_a": format_verdict("A"), "verdict_b": format_verdict("B")}
    if is_single_turn(conversation, response_a, response_b):
        values |= {"question": conversation[0]["content"], "answer_a": response_a[0]["content"],
                   "answer_b": response_b[0]["content"]}
        user = template.user_single
    else:
        if template.user_multi is None:
            raise TemplateError(
                f"template {template.origin} has no user_multi section, so it cannot show a multi-turn pair; "
                "add one or leave multi-turn pairs out."
            )
        values |= {"conversation_a": render_turns([*conversation, *response_a], "A"),
                   "conversation_b": render_turns([*conversation, *response_b], "B")}
        user = template.user_multi
    messages: list[Message] = []
    if template.system is not None:
        messages.append(Message(role="system", content=_fill(template.system, values)))
    messages.append(Message(role="user", content=_fill(user, values)))
    return messages


def render_pair(template: PromptTemplate, pair: PreferencePair, chosen_position: str) -> list[Message]:
    """Render ``pair`` with its chosen side shown as ``chosen_position`` ('A' or 'B')."""
    if chosen_position not in LABELS:
        raise ValueError(f"chosen_position {chosen_position!r} is not one of {LABELS}.")
    if chosen_position == "A":
        return render_judge_prompt(template, pair.conversation, pair.chosen, pair.rejected)
    return render_judge_prompt(template, pair.conversation, pair.rejected, pair.chosen)


# The pointwise judge (issue 23): one answer, a 1-10 score in reward_fns.pointwise's tag. Its version
# names this text and the score format; a change to either needs a new POINTWISE_VERSION (cache keys).
POINTWISE_VERSION = f"pointwise-v1+{POINTWISE_FORMAT_VERSION}"
POINTWISE_USER = (
    "Please act as an impartial judge and rate the quality of the chatbot's response to the client below. "
    "First write your reasoning: the rubric the question calls for and how the response meets it. Then rate "
    "the response on a scale of 1 (useless or harmful) to 10 (excellent), written last as {example}.\n\n"
    "[Client Question]\n{question}\n\n[The Start of Chatbot's Response]\n{answer}\n[The End of Chatbot's Response]"
)


def render_pointwise_prompt(conversation: Sequence[Message], response: Sequence[Message]) -> list[Message]:
    """The pointwise judge's messages for one answer (a multi-turn context is written out with neutral names)."""
    question = conversation[0]["content"] if len(conversation) == 1 else render_turns(conversation, "")
    answer = response[0]["content"] if len(response) == 1 else render_turns(response, "")
    values = {"example": format_score(7), "question": question, "answer": answer}
    return [Message(role="user", content=_PLACEHOLDER.sub(lambda m: values[m.group(1)], POINTWISE_USER))]


def _fill(text: str, values: dict[str, str]) -> str:
    # One pass over the template: placeholders inside the inserted content are never expanded.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
