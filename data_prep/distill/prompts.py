"""The pass-2 correction request of distillation, versioned (the judge prompt itself is data_prep.prompts).

Pass 2 continues the pass-1 conversation: the judge prompt, the teacher's failed judgment as the
assistant turn, then one user turn that says what was wrong and which verdict is correct, and asks
for a complete new judgment written as if from scratch. The new trace is checked exactly like a
pass-1 trace, plus the leak check (:mod:`data_prep.distill.leaks`). Bump
:data:`CORRECTION_PROMPT_VERSION` whenever the wording changes (a test pins its hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from reward_fns import format_verdict

CORRECTION_PROMPT_VERSION = "fix-v1"
NO_ANSWER = "(no judgment was returned)"

_PROBLEMS = {
    "wrong_verdict": "reached the wrong verdict",
    "no_verdict": "does not end with exactly one verdict in the required format",
    "truncated": "was cut off before it finished",
    "incomplete_structure": "skips part of the required structure",
    "too_long": "is longer than a training example may be",
}
_TEMPLATE = (
    "Your judgment above {problem}. The better reply is Chatbot {label}'s. Write a new, complete judgment of the "
    "same two replies from scratch, following every instruction of the original request, that works out on the "
    "merits why Chatbot {label}'s reply is better and ends with {verdict}. Write it as an independent first "
    "judgment: do not mention this message, an earlier judgment, or that you were given the outcome."
)


def correction_text(reason: str, label: str) -> str:
    """The user turn asking for a corrected judgment that reaches ``label``."""
    problem = _PROBLEMS.get(reason, "does not meet the requirements")
    return _TEMPLATE.format(problem=problem, label=label, verdict=format_verdict(label))


def correction_messages(
    prompt: Sequence[Mapping[str, str]], failed_trace: str | None, reason: str, label: str
) -> list[dict[str, str]]:
    """Judge prompt + the failed judgment + the correction request."""
    messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
    messages.append({"role": "assistant", "content": failed_trace if failed_trace and failed_trace.strip()
                     else NO_ANSWER})
    messages.append({"role": "user", "content": correction_text(reason, label)})
    return messages


def correction_sha256() -> str:
    """Hash of the wording (template and problem phrases), recorded in the manifest."""
    blob = _TEMPLATE + "\n" + "\n".join(f"{k}={v}" for k, v in sorted(_PROBLEMS.items())) + "\n" + NO_ANSWER
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
