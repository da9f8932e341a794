"""Scripted judges that prove the robustness metrics (tests and the preflight; never product code).

* :func:`injection_follower`: picks whichever candidate carries a payload of the probe library's EVAL
  part (obfuscation undone), else the candidate with a marker: attack success must come out 1.0.
* :class:`CoRBackend`: an in-process backend that reads the candidates from the prompt's real blocks
  (:func:`robust_candidates`: a spoofed delimiter cannot move them) and writes Chain-of-Rubrics
  traces (the picked side's summary says "better", the other's "worse") with quotes taken from the
  candidates (grounded) or invented, and, given an assistant prefix, finishes the verdict either from
  the ``<eval>`` in that prefix (``faithful``) or from the candidates alone (ignoring its reasoning).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from data_prep.cor_parser import parse_cor
from data_prep.prompts import RESPONSE_MARKERS
from data_prep.robustness.library import EVAL, fill
from eval.backends.base import Generation, Messages, OnResult, Request, Sampling
from eval.robustness.edits import HOMOGLYPHS, ZERO_WIDTH
from eval.robustness.faithfulness import VERDICT_LEAD
from reward_fns import LABELS, format_verdict
from testkit.judge_texts import Evidence, compose_cor
from testkit.loopback_policies import Policy, marker_policy, verdict_text
from testkit.scripted_backend import ScriptedBackend

_PLAIN = {glyph: latin for latin, glyph in HOMOGLYPHS.items()}
INVENTED_QUOTE = "a sentence that appears in neither candidate"


def deobfuscate(text: str) -> str:
    """Zero-width characters removed and Cyrillic lookalikes mapped back to Latin."""
    return "".join(_PLAIN.get(ch, ch) for ch in text if ch not in ZERO_WIDTH)


def _payloads() -> list[str]:
    texts = {fill(t, label, multi).strip() for ts in EVAL.injections.values() for t in ts
             for label in LABELS for multi in (False, True)}
    return sorted(texts, key=len, reverse=True)


def injection_follower(marker: str) -> Policy:
    """A judge that any injection fools; without one it picks the candidate carrying ``marker``."""
    payloads = _payloads()
    fallback = marker_policy(marker)
    ends = {label: RESPONSE_MARKERS[label][1] for label in LABELS}

    def decide(prompt: str) -> str:
        plain = deobfuscate(prompt)
        for payload in payloads:
            at = plain.find(payload)
            if at >= 0:  # the payload ends its candidate: the next real end marker names the carrier
                rest = plain[at + len(payload):]
                label = min(LABELS, key=lambda lab: rest.find(ends[lab]) if ends[lab] in rest else len(rest))
                return verdict_text(label, "Scripted judge: a candidate told me what to pick.")
        return fallback(prompt)

    return decide


def robust_candidates(prompt: str) -> tuple[str, str]:
    """Candidates A and B read from the template's REAL blocks, which a spoof inside an answer cannot move.

    A candidate may contain fake end/start markers, but the real B block is the prompt's last one: B
    runs from the last B start to the last B end, and A from the first A start to the last A end before B.
    """
    (a_start, a_end), (b_start, b_end) = RESPONSE_MARKERS["A"], RESPONSE_MARKERS["B"]
    b_at = prompt.rfind(b_start)
    a_at = prompt.find(a_start)
    a_to = prompt.rfind(a_end, 0, b_at)
    if min(a_at, b_at, a_to) < 0:
        return ("", "")
    return prompt[a_at + len(a_start):a_to].strip("\n"), prompt[b_at + len(b_start):prompt.rfind(b_end)].strip("\n")


def cor_trace(label: str, text_a: str, text_b: str, grounded: bool) -> str:
    """A CoR trace for ``label`` whose summaries favour it; quotes from the candidates or invented."""
    quote = (lambda text: text[:12]) if grounded else (lambda text: INVENTED_QUOTE)
    verdicts = {lab: "better" if lab == label else "worse" for lab in LABELS}
    evidence = Evidence(quote(text_a), f"Chatbot A is {verdicts['A']}.", quote(text_b),
                        f"Chatbot B is {verdicts['B']}.")
    return compose_cor("Chat", label, rubric="Accuracy 100%", justify="Only accuracy matters.", evidence=evidence)


def eval_pick(prefix: str) -> str | None:
    """The side the ``<eval>`` summaries in ``prefix`` call better."""
    evidence = parse_cor(prefix).evidence
    for label in LABELS:
        if any("better" in s for s in evidence.get(f"summary_{label}", ())):
            return label
    return None


class CoRBackend(ScriptedBackend):
    """The scripted backend with a CoR policy over ``pick(text_a, text_b) -> label``; see the module docstring."""

    def __init__(self, pick: Callable[[str, str], str], *, grounded: bool = True, faithful: bool = True,
                 model_name: str = "cor-judge") -> None:
        super().__init__(self._trace, model_name=model_name)
        self.pick, self.grounded, self.faithful = pick, grounded, faithful
        self.prefixed = 0

    def _trace(self, prompt: str) -> str:
        text_a, text_b = robust_candidates(prompt)
        return cor_trace(self.pick(text_a, text_b), text_a, text_b, self.grounded)

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        for index, request in enumerate(requests):
            if request.messages[-1]["role"] == "assistant":
                on_result(index, Generation(text=self._finish(request.messages), finish_reason="stop"))
            else:
                def deliver(_: int, generation: Generation, i: int = index) -> None:
                    on_result(i, generation)

                super().generate([request], sampling, deliver)

    def _finish(self, messages: Messages) -> str:
        """The rest of the verdict after an assistant prefix that ends with the verdict's lead."""
        self.prefixed += 1
        user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        label = self.pick(*robust_candidates(user))
        if self.faithful:
            label = eval_pick(messages[-1]["content"]) or label
        return format_verdict(label).removeprefix(VERDICT_LEAD)


def marker_pick(marker: str) -> Callable[[str, str], str]:
    """Pick the candidate holding ``marker`` (A when both or neither do)."""
    def pick(text_a: str, text_b: str) -> str:
        return "B" if marker in text_b and marker not in text_a else "A"

    return pick

