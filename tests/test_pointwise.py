"""The pointwise contract (reward_fns/pointwise.py): the parse table, properties, the reward and the prompt."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.prompts import POINTWISE_VERSION, render_pointwise_prompt
from reward_fns.pointwise import compute_score, format_score, parse_score, reward
from reward_fns.verdict import Failure

OK = None
# (text, strict result, lenient result): an int is the score read, a Failure why none was.
TABLE = [
    ("<score>8</score>", 8, 8),  # the plain tag
    ("<think>Correct and clear.</think>\n<score> 8 </score>\n", 8, 8),  # reasoning first, spaces around the number
    ("Reasoning without think tags. <score>1</score>", 1, 1),  # the lowest score
    ("<score>10</score>", 10, 10),  # the highest score
    ("<score>8</score> on reflection 9", Failure.NOT_AT_END, 8),  # text after the tag: strict fails, lenient reads
    ("<SCORE>8</SCORE>", Failure.MALFORMED, 8),  # wrong case: strict only
    ("<score>7/10</score>", Failure.MALFORMED, 7),  # "N/10": lenient only
    ("<score>0</score>", Failure.MALFORMED, Failure.MALFORMED),  # below the scale
    ("<score>11</score>", Failure.MALFORMED, Failure.MALFORMED),  # above the scale
    ("<score>7.5</score>", Failure.MALFORMED, Failure.MALFORMED),  # not a whole number
    ("<score>seven</score>", Failure.MALFORMED, Failure.MALFORMED),  # a word
    ("<score>７</score>", Failure.LOOKALIKE, Failure.LOOKALIKE),  # a fullwidth digit
    ("＜score＞7＜/score＞", Failure.LOOKALIKE, Failure.LOOKALIKE),  # fullwidth tag brackets
    ("<score>3</score><score>3</score>", Failure.COMPETING, 3),  # a repeat: strict refuses a hedge, lenient reads
    ("<score>3</score> or <score>9</score>", Failure.COMPETING, Failure.COMPETING),  # two different numbers
    ("<think>maybe <score>3</score></think> no tag", Failure.INSIDE_THINKING, Failure.INSIDE_THINKING),  # only inside
    ("<think>still thinking <score>3</score>", Failure.INSIDE_THINKING, Failure.INSIDE_THINKING),  # block never closes
    ("<think>cut off mid thought", Failure.TRUNCATED, Failure.TRUNCATED),  # block never closes, no tag
    ("<think>ok</think><score>7</sco", Failure.TRUNCATED, Failure.TRUNCATED),  # cut inside the closing tag
    ("<think>ok</think><score>", Failure.TRUNCATED, Failure.TRUNCATED),  # cut right after opening the tag
    ("The answer is good, since x < y", Failure.MISSING, Failure.MISSING),  # "<" in prose is not a cut tag
    ("I would give it an 8.", Failure.MISSING, Failure.MISSING),  # a number but no tag
    ("<score></score>", Failure.MALFORMED, Failure.MALFORMED),  # an empty tag
]


@pytest.mark.parametrize(("text", "strict", "lenient"), TABLE)
def test_parse_table(text: str, strict: int | Failure, lenient: int | Failure) -> None:
    for mode, expected in (("strict", strict), ("lenient", lenient)):
        parsed = parse_score(text, mode)  # type: ignore[arg-type]
        assert (parsed.score if isinstance(expected, int) else parsed.failure) == expected, (mode, text)
        assert (parsed.score is None) != (parsed.failure is None)


@given(st.integers(1, 10), st.text(max_size=200).filter(lambda t: "score" not in t.lower() and "think>" not in t))
def test_round_trip_after_any_reasoning(score: int, reasoning: str) -> None:
    text = f"<think>{reasoning}</think>{format_score(score)}"
    assert parse_score(text, "strict").score == score
    assert parse_score(text, "lenient").score == score


@given(st.text(max_size=300))
def test_strict_success_implies_lenient_agrees(text: str) -> None:
    strict = parse_score(text, "strict")
    if strict.ok:
        assert parse_score(text, "lenient").score == strict.score
    assert strict.score is None or 1 <= strict.score <= 10


@given(st.integers(1, 10), st.text(min_size=1, max_size=50).filter(lambda t: t.strip()))
def test_text_after_the_tag_fails_strict(score: int, tail: str) -> None:
    assert not parse_score(format_score(score) + " " + tail, "strict").ok


@pytest.mark.parametrize("bad", [0, 11, -1, True, 7.0])  # off the scale, a bool, a float
def test_format_score_refuses(bad: object) -> None:
    with pytest.raises(ValueError, match="whole number from 1 to 10"):
        format_score(bad)  # type: ignore[arg-type]


def test_reward_is_scaled_and_failures_earn_the_failure_reward() -> None:
    assert reward("<score>1</score>") == 0.0
    assert reward("<score>10</score>") == 1.0
    assert reward("<score>4</score>") == pytest.approx(1 / 3)
    assert reward("<score>4</score> trailing") == 0.0  # strict: a reward never reads a hedge
    assert compute_score("src", "no score", None, {"failure_reward": 0.25}) == 0.25


def test_compute_score_survives_pickling() -> None:
    """verl ships the reward function to Ray workers by pickling it."""
    assert pickle.loads(pickle.dumps(compute_score))("x", "<score>10</score>") == 1.0


GOLDEN = (
    "Please act as an impartial judge and rate the quality of the chatbot's response to the client below. "
    "First write your reasoning: the rubric the question calls for and how the response meets it. Then rate "
    "the response on a scale of 1 (useless or harmful) to 10 (excellent), written last as <score>7</score>.\n\n"
    "[Client Question]\nWhat is 2+2? {answer}\n\n"
    "[The Start of Chatbot's Response]\nIt is 4.\n[The End of Chatbot's Response]"
)


def test_pointwise_prompt_golden() -> None:
    """The rendered prompt, byte for byte (a change needs a new POINTWISE_VERSION); braces in content stay."""
    messages = render_pointwise_prompt([{"role": "user", "content": "What is 2+2? {answer}"}],
                                       [{"role": "assistant", "content": "It is 4."}])
    assert messages == [{"role": "user", "content": GOLDEN}]
    assert POINTWISE_VERSION == "pointwise-v1+pointwise-score-v1"
