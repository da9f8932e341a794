"""The trace filter, think-block assembly, leak phrases, correction prompt, accounting and split, in tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.distill.checks import (
    LEAK_PHRASES,
    LEAK_PHRASES_VERSION,
    assemble_trace,
    check_trace,
    find_leak,
    phrases_sha256,
)
from data_prep.distill.output import SftExample, prompt_text, split_examples
from data_prep.distill.passes import CORRECTION_PROMPT_VERSION, Accounting, correction_messages, correction_sha256
from infra.chat_types import Prices
from reward_fns import format_verdict
from testkit.judge_texts import Evidence, compose_cor

EVIDENCE = Evidence("x", "right", "y", "wrong")
REASONING_TRACE = compose_cor("Reasoning", "A", solution="4", evidence=EVIDENCE)
CHAT_TRACE = compose_cor("Chat", "B", rubric="Accuracy 60%, tone 40%", justify="Facts first.", evidence=EVIDENCE)


@pytest.mark.parametrize(("trace", "truth", "variant", "finish", "leak", "expected"), [
    (REASONING_TRACE, "A", "instruct", "stop", False, (None, None)),  # complete Reasoning trace, right verdict
    (CHAT_TRACE, "B", "instruct", "stop", False, (None, None)),  # complete Chat trace
    (REASONING_TRACE, "B", "instruct", "stop", False, ("wrong_verdict", "A for B")),  # complete but wrong
    (REASONING_TRACE, "A", "instruct", "length", False, ("truncated", "finish_reason=length")),  # cut off
    (REASONING_TRACE.replace(format_verdict("A"), "A wins"), "A", "instruct", "stop", False,
     ("no_verdict", "missing")),  # no verdict at all
    (REASONING_TRACE + "\n" + format_verdict("B"), "A", "instruct", "stop", False,
     ("no_verdict", "competing")),  # two verdicts
    (format_verdict("A"), "A", "instruct", "stop", False, ("incomplete_structure", "missing_type")),  # bare verdict
    (CHAT_TRACE.replace("<justify>\nFacts first.\n</justify>\n", ""), "B", "instruct", "stop", False,
     ("incomplete_structure", "missing_justify")),  # rubric without its justification
    (CHAT_TRACE.replace("60%", "six").replace("40%", "four"), "B", "instruct", "stop", False,
     ("incomplete_structure", "unweighted_rubric")),  # rubric without weights
    (REASONING_TRACE.replace("<quote_B>y</quote_B>", ""), "A", "instruct", "stop", False,
     ("incomplete_structure", "missing_evidence")),  # eval without one evidence tag
    (REASONING_TRACE.replace("<type>", "As instructed: <type>"), "A", "instruct", "stop", True,
     ("leak", "as instructed")),  # a corrected trace that says it was told
    (REASONING_TRACE.replace("<type>", "As instructed: <type>"), "A", "instruct", "stop", False,
     (None, None)),  # the same text in pass 1 (nobody told it anything) is not checked for leaks
    ("<think>\nB is right.\n</think>\n\n" + format_verdict("B"), "B", "reasoning", "stop", False,
     (None, None)),  # a reasoning-variant trace needs thinking, not a rubric
    (format_verdict("B"), "B", "reasoning", "stop", False, ("incomplete_structure", "missing_thinking")),
    ("<think>\n\n</think>\n" + format_verdict("B"), "B", "reasoning", "stop", False,
     ("incomplete_structure", "missing_thinking")),  # an empty think block
    (REASONING_TRACE, None, "instruct", "stop", False, (None, None)),  # no labels (released SFT set): any verdict
])
def test_trace_filter(trace, truth, variant, finish, leak, expected) -> None:
    check = check_trace(trace, truth, variant, finish_reason=finish, check_leak=leak)
    assert (check.reason, check.detail) == expected


@pytest.mark.parametrize(("content", "reasoning", "variant", "expected"), [
    ("answer", "thinking", "reasoning", "<think>\nthinking\n</think>\n\nanswer"),  # a reasoning_content field
    ("thinking</think>answer", None, "reasoning", "<think>\nthinking</think>answer"),  # template opened <think>
    ("<think>t</think>answer", None, "reasoning", "<think>t</think>answer"),  # already whole
    ("answer", None, "reasoning", "answer"),  # no thinking at all: left for the filter to reject
    ("<type>Chat</type>", "ignored", "instruct", "<type>Chat</type>"),  # instruct traces pass unchanged
])
def test_assemble_keeps_the_think_block(content, reasoning, variant, expected) -> None:
    assert assemble_trace(content, reasoning, variant) == expected


def test_leak_list_and_correction_prompt_are_pinned_to_their_versions() -> None:
    # Changing a phrase or the correction wording changes which traces survive: bump the version with it.
    assert (LEAK_PHRASES_VERSION, phrases_sha256()) == (
        "leak-v1", "1b73adfa5fa3fba0f02b2eea7a033493282c4178962041c84ca2ccb56dc3c3dc")
    assert (CORRECTION_PROMPT_VERSION, correction_sha256()) == (
        "fix-v1", "c0f1395ef83f03505d26c4b5e254b1aec1f3479dca285223785ac5cba7172b5e")


@given(st.sampled_from(LEAK_PHRASES), st.text(max_size=30), st.text(max_size=30))
def test_every_phrase_is_found_in_any_case_and_spacing(phrase: str, before: str, after: str) -> None:
    spaced = phrase.upper().replace(" ", " \n\t ")
    assert find_leak(f"{before} {spaced} {after}") is not None


def test_correction_shows_the_failed_judgment_and_names_the_verdict() -> None:
    prompt = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    messages = correction_messages(prompt, "the old judgment", "wrong_verdict", "B")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "the old judgment" and format_verdict("B") in messages[3]["content"]
    assert format_verdict("A") not in messages[3]["content"]


def test_accounting_prices_every_response_and_caps_the_total() -> None:
    spend = Accounting(Prices(2.5, 10.0), max_cost=0.02)
    spend.add("pass1", 1500, 1000, cached=True)  # 0.01375 USD, paid by an earlier run
    ask = [{"role": "user", "content": "hi"}]
    held = spend.reserve(ask, max_tokens=1)
    assert held is not None and spend.run_summary()["cost_usd"] == 0
    spend.release(held)
    spend.add("pass2", 2600, 1000, cached=False)  # 0.0165 USD now
    assert spend.reserve(ask, max_tokens=1) is None and spend.total_cost == pytest.approx(0.03025)
    spend.add("pass1", None, None, cached=False)  # a server without usage: counted, unpriced
    assert spend.summary()["all"]["missing_usage"] == 1
    assert 1000 * Prices(2.5, 10.0).cost(1500, 1000) == pytest.approx(13.75)  # the README's cost per 1,000 traces


def _asking(text: str) -> tuple[dict[str, str], ...]:
    return ({"role": "user", "content": text},)


SFT = {"order": lambda e: e.row_id, "prompt": prompt_text}  # how distill.py and released.py split SFT examples


def test_split_is_seeded_sorted_and_independent_of_input_order() -> None:
    examples = [SftExample(f"r{i:02d}", _asking(f"prompt {i}"), "t", "s", {}) for i in range(50)]
    first = split_examples(examples, 0.1, seed=3, **SFT)
    again = split_examples(list(reversed(examples)), 0.1, seed=3, **SFT)
    assert [e.row_id for e in first["val"]] == [e.row_id for e in again["val"]] and len(first["val"]) == 5
    assert [e.row_id for e in first["train"]] == sorted(e.row_id for e in first["train"])
    assert split_examples(examples, 0.1, seed=4, **SFT)["val"] != first["val"]


def test_traces_of_one_prompt_stay_in_one_split() -> None:
    # 30 prompts with 1-3 traces each (a released set repeats prompts): no prompt is in both splits, and the
    # val share counts prompts, not traces
    examples = [SftExample(f"r{p:02d}-{k}", _asking(f"prompt {p}"), f"trace {k}", "s", {})
                for p in range(30) for k in range(1 + p % 3)]
    splits = split_examples(examples, 0.2, seed=7, **SFT)
    prompts = {name: {e.messages[0]["content"] for e in chunk} for name, chunk in splits.items()}
    assert not prompts["train"] & prompts["val"] and len(prompts["val"]) == 6
    assert sum(map(len, splits.values())) == len(examples)
    one_prompt = [SftExample(f"r{k}", _asking("same"), f"trace {k}", "s", {}) for k in range(4)]
    assert split_examples(one_prompt, 0.5, seed=0, **SFT) == {"train": one_prompt, "val": []}  # cannot split one prompt
