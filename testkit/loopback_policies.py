"""Scripted judge policies for the loopback server: functions from a judge prompt to a response text.

A policy reads the request's last user message and returns the assistant's text. Verdict policies end
that text with :func:`reward_fns.format_verdict`, so the scripted judge always speaks the verdict format
the reward and the eval scorers parse. Which candidate is which is found by an *extractor*: a function
``prompt -> (text_a, text_b)`` or None. The default is the prompt module's own
:func:`testkit.judge_texts.extract_candidates`, so the judge reads exactly the candidate markers our
prompts write (one copy of them, in :mod:`data_prep.prompts`). A prompt that frames candidates
differently passes its own extractor.

>>> policy = marker_policy("GOOD")
>>> prompt = render_candidates("a GOOD answer", "a bad answer")
>>> policy(prompt).endswith(format_verdict("A"))
True
"""

from __future__ import annotations

from collections.abc import Callable

from data_prep.prompts import RESPONSE_MARKERS
from reward_fns import LABELS, format_verdict
from testkit.judge_texts import extract_candidates

Extractor = Callable[[str], "tuple[str, str] | None"]
Policy = Callable[[str], str]
POLICY_NAMES: tuple[str, ...] = ("always_a", "always_b", "marker", "follow_injection", "fixed")
default_extractor: Extractor = extract_candidates


class ExtractionError(ValueError):
    """The candidates could not be found in the prompt (the server answers HTTP 400 with this message)."""


def render_candidates(text_a: str, text_b: str) -> str:
    """Frame two candidates with the single-turn response markers (for tests and demos)."""
    blocks = []
    for label, text in zip(LABELS, (text_a, text_b), strict=True):
        start, end = RESPONSE_MARKERS[label]
        blocks.append(f"{start}\n{text}\n{end}\n")
    return "\n".join(blocks)


def verdict_text(label: str, reasoning: str | None) -> str:
    """The response a scripted judge gives: optional short reasoning, then the verdict."""
    verdict = format_verdict(label)
    return f"{reasoning}\n{verdict}" if reasoning else verdict


def always(label: str, reasoning: bool = True) -> Policy:
    """A judge that always picks ``label`` (measures position bias handling: accuracy is 50% on a balanced set)."""
    format_verdict(label)  # validates the label now rather than on the first request

    def decide(prompt: str) -> str:
        return verdict_text(label, f"Scripted judge: always picks Chatbot {label}." if reasoning else None)

    return decide


def marker_policy(
    marker: str, fallback: str = "A", extractor: Extractor = default_extractor, reasoning: bool = True
) -> Policy:
    """A judge with known accuracy: picks the candidate carrying ``marker``; ``fallback`` if none or both do."""
    if not marker:
        raise ValueError("the marker policy needs a non-empty marker string; pass marker='...'.")
    format_verdict(fallback)

    def decide(prompt: str) -> str:
        text_a, text_b = _candidates(prompt, extractor)
        in_a, in_b = marker in text_a, marker in text_b
        label = "A" if in_a and not in_b else "B" if in_b and not in_a else fallback
        why = f"only in Chatbot {label}'s response" if in_a != in_b else "in neither or both; fallback"
        return verdict_text(label, f"Scripted judge: the marker is {why}." if reasoning else None)

    return decide


def follow_injection(fallback: str = "A", extractor: Extractor = default_extractor, reasoning: bool = True) -> Policy:
    """A judge that injection always fools: obeys a verdict written inside either candidate.

    If the candidates' texts contain verdicts for exactly one label, that label wins; with none, or with
    verdicts for both labels, it answers ``fallback``.
    """
    format_verdict(fallback)

    def decide(prompt: str) -> str:
        both = "\n".join(_candidates(prompt, extractor))
        injected = [label for label in LABELS if format_verdict(label) in both]
        label = injected[0] if len(injected) == 1 else fallback
        why = "a candidate told me to" if len(injected) == 1 else "no single injected verdict; fallback"
        return verdict_text(label, f"Scripted judge: {why}." if reasoning else None)

    return decide


def fixed_text(text: str) -> Policy:
    """A judge that always says ``text`` verbatim (for parse-failure and formatting tests)."""

    def decide(prompt: str) -> str:
        return text

    return decide


def make_policy(
    name: str,
    *,
    marker: str | None = None,
    fallback: str = "A",
    text: str | None = None,
    extractor: Extractor = default_extractor,
    reasoning: bool = True,
) -> Policy:
    """Build a policy from its name in :data:`POLICY_NAMES` (what the CLI and string arguments use)."""
    if name == "always_a":
        return always("A", reasoning)
    if name == "always_b":
        return always("B", reasoning)
    if name == "marker":
        return marker_policy(marker or "", fallback, extractor, reasoning)
    if name == "follow_injection":
        return follow_injection(fallback, extractor, reasoning)
    if name == "fixed":
        if text is None:
            raise ValueError("the fixed policy needs the text to answer with; pass text='...'.")
        return fixed_text(text)
    raise ValueError(f"judge policy {name!r} is unknown; pick one of {', '.join(POLICY_NAMES)}.")


def _candidates(prompt: str, extractor: Extractor) -> tuple[str, str]:
    found = extractor(prompt)
    if found is None:
        raise ExtractionError(
            "the loopback judge found no two candidates in the last user message; "
            "pass an extractor that matches your prompt's framing."
        )
    return found
