"""The Chain-of-Rubrics structure parser: round trips, problems found, never crashing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.cor_parser import EVIDENCE_TAGS, Problem, parse_cor
from reward_fns import Failure, format_verdict
from testkit.judge_texts import Evidence, compose_cor

# Free text without the characters tags and verdict marks are made of.
plain = st.text(alphabet=st.characters(blacklist_characters="<>[]", blacklist_categories=("Cs",)), max_size=60)
evidence = st.builds(Evidence, plain, plain, plain, plain)
label = st.sampled_from("AB")

CHAT = compose_cor(
    "Chat", "A", rubric="Accuracy 70%\nTone 30%", justify="Accuracy matters most.",
    evidence=Evidence("qa", "sa", "qb", "sb"), comparison="A is right.",
)
REASONING = compose_cor("Reasoning", "B", solution="x = 5", evidence=Evidence("x=4", "wrong", "x=5", "right"))


@given(evidence=evidence, label=label, rubric=plain, justify=plain, comparison=plain)
def test_chat_trace_round_trips(evidence: Evidence, label: str, rubric: str, justify: str, comparison: str) -> None:
    weighted = f"{rubric}\nCorrectness 60%\nClarity 40%"
    parsed = parse_cor(compose_cor("Chat", label, rubric=weighted, justify=justify, evidence=evidence,
                                   comparison=comparison))
    assert parsed.complete, parsed.problems
    assert (parsed.task_type, parsed.label) == ("Chat", label)
    assert parsed.justify == justify.strip() and parsed.rubric_weights[-2:] == (60.0, 40.0)
    fields = (evidence.quote_a, evidence.summary_a, evidence.quote_b, evidence.summary_b)
    expected = {tag: (text.strip(),) for tag, text in zip(EVIDENCE_TAGS, fields, strict=True)}
    assert {tag: parsed.evidence[tag] for tag in EVIDENCE_TAGS} == expected


@given(evidence=evidence, label=label, solution=plain)
def test_reasoning_trace_round_trips(evidence: Evidence, label: str, solution: str) -> None:
    parsed = parse_cor(compose_cor("Reasoning", label, solution=solution, evidence=evidence))
    assert parsed.complete, parsed.problems
    assert (parsed.task_type, parsed.solution, parsed.label) == ("Reasoning", solution.strip(), label)
    assert parsed.rubric is None


@given(st.text(max_size=400))
def test_any_text_parses_without_raising(text: str) -> None:
    # the distillation filter runs the parser on whatever a teacher wrote: it must never raise, and its
    # verdict is the reward's own reading of the text
    from reward_fns import parse_verdict

    parsed = parse_cor(text)
    assert parsed.verdict == parse_verdict(text, "strict")
    assert not parsed.complete or parsed.label in ("A", "B")


@given(tail=plain.filter(str.strip))
def test_text_after_the_verdict_makes_a_complete_trace_incomplete(tail: str) -> None:
    assert parse_cor(CHAT).complete
    parsed = parse_cor(CHAT + "\n" + tail)  # the verdict must end the trace, as the reward requires
    assert not parsed.complete and Problem.BAD_VERDICT in parsed.problems and parsed.label is None


@given(prefix=st.text(max_size=80), suffix=st.sampled_from(["", " ", "\n"]))
def test_verdict_is_exactly_what_reward_fns_reads(prefix: str, suffix: str) -> None:
    from reward_fns import parse_verdict

    text = prefix + CHAT + suffix
    for mode in ("strict", "lenient"):
        assert parse_cor(text, mode).verdict == parse_verdict(text, mode)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a clean Chat trace
        (CHAT, set()),
        # a clean Reasoning trace
        (REASONING, set()),
        # the type tag is missing
        (CHAT.replace("<type>Chat</type>", ""), {Problem.MISSING_TYPE}),
        # an unknown task type
        (CHAT.replace("<type>Chat</type>", "<type>Poetry</type>"), {Problem.UNKNOWN_TYPE}),
        # type names are read case-insensitively
        (CHAT.replace("<type>Chat</type>", "<type> chat </type>"), set()),
        # a Reasoning task without its own solution
        (REASONING.replace("<solution>\nx = 5\n</solution>", ""), {Problem.MISSING_SOLUTION}),
        # a Chat task without a rubric (the justify inside it goes too)
        (CHAT.split("<rubric>")[0] + CHAT.split("</rubric>\n")[1], {Problem.MISSING_RUBRIC, Problem.MISSING_JUSTIFY}),
        # a rubric without weights
        (CHAT.replace("70%", "high").replace("30%", "low"), {Problem.UNWEIGHTED_RUBRIC}),
        # a rubric without its justification
        (CHAT.replace("<justify>\nAccuracy matters most.\n</justify>\n", ""), {Problem.MISSING_JUSTIFY}),
        # no eval block: no evidence either
        (CHAT.replace("<eval>", "").replace("</eval>", ""), {Problem.MISSING_EVAL}),
        # evidence for B missing
        (CHAT.replace("<quote_B>qb</quote_B>", ""), {Problem.MISSING_EVIDENCE}),
        # an eval that is never closed
        (CHAT.replace("</eval>", ""), {Problem.UNCLOSED_TAG, Problem.MISSING_EVAL}),
        # the verdict comes first: for the reward it is not at the end
        (format_verdict("A") + "\n" + CHAT.rsplit("\n", 1)[0], {Problem.BAD_VERDICT}),
        # the eval comes before the rubric
        ("<type>Chat</type>\n<eval><quote_A>a</quote_A><summary_A>b</summary_A><quote_B>c</quote_B>"
         "<summary_B>d</summary_B></eval>\n<rubric>x 100%<justify>y</justify></rubric>\n" + format_verdict("B"),
         {Problem.OUT_OF_ORDER}),
        # no verdict at all
        (CHAT.rsplit("\n", 1)[0], {Problem.BAD_VERDICT}),
    ],
)
def test_structure_problems(text: str, expected: set[Problem]) -> None:
    assert set(parse_cor(text).problems) == expected


def test_lenient_verdict_before_the_eval_is_out_of_order() -> None:
    text = format_verdict("A") + "\n" + CHAT.rsplit("\n", 1)[0]
    parsed = parse_cor(text, "lenient")
    assert parsed.label == "A" and set(parsed.problems) == {Problem.OUT_OF_ORDER}


def test_verdict_failure_reason_comes_from_reward_fns() -> None:
    parsed = parse_cor(CHAT + " and that is final")
    assert parsed.verdict.failure is Failure.NOT_AT_END and Problem.BAD_VERDICT in parsed.problems


def test_reasoning_model_output_with_think_block() -> None:
    text = "<think>\nLet me check both.\n</think>\n" + REASONING
    parsed = parse_cor(text)
    assert parsed.complete and parsed.label == "B"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_type": "Math"}, "not one of"),  # unknown task type
        ({"task_type": "Reasoning"}, "needs a solution"),  # Reasoning without solution
        ({"task_type": "Chat", "rubric": "r"}, "needs a rubric and a justify"),  # Chat without justify
    ],
)
def test_compose_refuses_incomplete_traces(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compose_cor(label="A", evidence=Evidence("a", "b", "c", "d"), **kwargs)
