"""Properties of the parser and reward that must hold for ANY text a policy can write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reward_fns import SCORE_KEYS, compute_score, format_verdict, parse_verdict

# Text biased towards the characters the parser cares about, so adversarial shapes come up often.
PIECES = st.sampled_from(
    ["<answer>", "</answer>", "[[", "]]", "A", "B", "a", "<think>", "</think>", "［", "】", "А", " ", "\n", "x",
     "〖", "〗", "𝐁", "ｂ", "</", "<ans", "\u3000"]
)  # fmt: skip
JUDGE_TEXT = st.one_of(st.text(), st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=40).map("".join))


@given(JUDGE_TEXT, st.sampled_from(["strict", "lenient"]))
def test_parse_never_raises_and_is_exclusive(text: str, mode: str) -> None:
    got = parse_verdict(text, mode)  # type: ignore[arg-type]
    assert (got.label is None) != (got.failure is None)
    assert got.label in (None, "A", "B")


@given(JUDGE_TEXT)
def test_strict_success_implies_lenient_agrees(text: str) -> None:
    strict = parse_verdict(text, "strict")
    if strict.ok:
        assert parse_verdict(text, "lenient").label == strict.label


@given(JUDGE_TEXT, st.sampled_from(["A", "B", "model_a", "model_b"]))
def test_reward_keys_and_values(text: str, ground_truth: str) -> None:
    out = compute_score(data_source="prop", solution_str=text, ground_truth=ground_truth)
    assert tuple(out) == SCORE_KEYS
    assert out["score"] in (1.0, -1.0)
    assert out["acc"] in (0.0, 1.0) and out["format_ok"] in (0.0, 1.0)
    assert out["acc"] == (1.0 if out["score"] == 1.0 else 0.0)


# Reasoning free of verdict-like text, so appending a verdict must make the whole response parse.
CLEAN_REASONING = st.text(alphabet=st.characters(blacklist_characters="[]<>［］【】〚〛⟦⟧〔〕"), max_size=200)


@given(CLEAN_REASONING, st.sampled_from(["A", "B"]), st.booleans(), st.sampled_from(["", "\n", "  \n\t"]))
def test_format_then_parse_round_trip(reasoning: str, label: str, think: bool, trailing: str) -> None:
    body = f"<think>{reasoning}</think>" if think else reasoning
    text = body + "\n" + format_verdict(label) + trailing
    assert parse_verdict(text).label == label
    assert compute_score(data_source="rt", solution_str=text, ground_truth=label)["score"] == 1.0


@given(JUDGE_TEXT)
def test_fast_path_agrees_with_full_classification(text: str) -> None:
    """The C-speed shortcut may only ever accept what the full strict analysis accepts."""
    from reward_fns.verdict import _answer_region_start, _strict_failure, _strict_fast_path

    start = _answer_region_start(text)
    if start < 0:
        return
    end = len(text.rstrip())
    fast = _strict_fast_path(text, start, end)
    if fast is not None:
        assert _strict_failure(text, start, end) == fast


# Issue 12, item 4: any non-Latin prose (single brackets, lookalike letters, CJK punctuation) before a
# clean verdict is ordinary text. Joining pieces with spaces means no two brackets touch: no mark forms.
NON_LATIN = st.lists(
    st.one_of(
        st.sampled_from(list("【】〖〗〔〕［］[]「」ΑΒΓαβАВавＡＢａｂ𝐀𝐁Ⓐ分析更好。ответ")),
        st.text(alphabet=st.characters(min_codepoint=0x370, max_codepoint=0x9FFF), max_size=6),
    ),
    max_size=30,
).map(" ".join)


@given(NON_LATIN, st.sampled_from(["A", "B"]), st.sampled_from(["", " ", "\n", "。"]))
def test_non_latin_text_before_a_clean_verdict_never_matters(prose: str, label: str, sep: str) -> None:
    text = prose + sep + format_verdict(label)
    for mode in ("strict", "lenient"):
        assert parse_verdict(text, mode).label == label, mode  # type: ignore[arg-type]
