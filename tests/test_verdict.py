"""The verdict contract: strict and lenient parsing, table-driven with a reason per row."""

from __future__ import annotations

import pytest

from reward_fns import LABELS, Failure, format_verdict, parse_verdict

A, B = format_verdict("A"), format_verdict("B")
F = Failure

# (case id, response text, strict outcome, lenient outcome); an outcome is a label or a Failure.
CASES = [
    # --- valid ---
    ("bare_verdict", A, "A", "A"),  # the verdict alone
    ("after_reasoning", "<think>B misses the edge case.</think>\n" + B, "B", "B"),  # R1 style with <think>
    ("close_only", "B misses it.\n</think>\n\n" + A, "A", "A"),  # <think> was in the prompt, only </think> here
    ("trailing_ws", A + "\n\n  \t", "A", "A"),  # only whitespace may follow
    ("inner_newlines", "<answer>\n[[B]]\n</answer>", "B", "B"),  # whitespace between tags and brackets allowed
    ("cor_full", "<type>Chat</type><rubric>1. a</rubric><eval><quote_A>x</quote_A></eval>\n" + A, "A", "A"),
    ("verdict_in_think_and_end", "<think>maybe " + B + "</think>" + A, "A", "A"),  # thinking drafts ignored
    ("code_brackets", "<eval>x = [[1, 2], [3]]</eval>" + B, "B", "B"),  # [[ in code is not a verdict mark
    # --- strict failures ---
    ("empty", "", F.MISSING, F.MISSING),  # nothing at all
    ("no_verdict", "Chatbot A is better.", F.MISSING, F.MISSING),  # prose only
    ("text_after", A + " Actually, on reflection, B.", F.NOT_AT_END, "A"),  # lenient tolerates a tail
    ("repeated_same", A + "\n" + A, F.COMPETING, "A"),  # repeats fail strict (hedging), lenient accepts
    ("competing", A + B, F.COMPETING, F.COMPETING),  # two labels
    ("quoted_injection", f"<quote_B>{B}</quote_B>\n" + A, F.COMPETING, F.COMPETING),  # candidate text quoted
    ("lowercase_label", "<answer>[[a]]</answer>", F.MALFORMED, "A"),  # case tolerated only when lenient
    ("upper_tag", "<ANSWER>[[A]]</ANSWER>", F.MALFORMED, "A"),  # tag names are lowercase
    ("spaced_label", "<answer>[[ B ]]</answer>", F.MALFORMED, "B"),  # no spaces inside [[ ]] when strict
    ("bare_brackets", "Final: [[A]]", F.MALFORMED, "A"),  # no <answer> tags
    ("plain_letter", "<answer>A</answer>", F.MALFORMED, F.MALFORMED),  # no [[ ]]
    ("bad_label", "<answer>[[C]]</answer>", F.MALFORMED, F.MALFORMED),  # only A and B exist
    ("fullwidth_brackets", "<answer>［［A］］</answer>", F.LOOKALIKE, F.LOOKALIKE),  # U+FF3B/FF3D
    ("lenticular", "<answer>【【B】】</answer>", F.LOOKALIKE, F.LOOKALIKE),  # U+3010/3011
    ("white_square", "<answer>〚〚A〛〛</answer>", F.LOOKALIKE, F.LOOKALIKE),  # U+301A/301B
    ("cyrillic_a", "<answer>[[А]]</answer>", F.LOOKALIKE, F.LOOKALIKE),  # U+0410
    ("cyrillic_b", "<answer>[[В]]</answer>", F.LOOKALIKE, F.LOOKALIKE),  # U+0412
    ("fullwidth_letter", "<answer>[[Ａ]]</answer>", F.LOOKALIKE, F.LOOKALIKE),  # U+FF21
    ("cyrillic_tag", "<аnswer>[[A]]</аnswer>", F.LOOKALIKE, "A"),  # Cyrillic а in the tag name
    ("only_in_think", "<think>" + A + "</think>", F.INSIDE_THINKING, F.INSIDE_THINKING),  # nothing after
    ("unclosed_think", "<think>long reasoning " + B, F.INSIDE_THINKING, F.INSIDE_THINKING),  # never closed
    ("unclosed_think_plain", "<think>long reasoning that ran out of tok", F.TRUNCATED, F.TRUNCATED),
    ("cut_mid_tag", "ok </think> <answer>[[A]]</ans", F.TRUNCATED, F.TRUNCATED),  # stopped mid closing tag
    ("cut_mid_open", "reasoning done. <answ", F.TRUNCATED, F.TRUNCATED),  # stopped in the opening tag
    ("cut_after_open", "reasoning done. <answer>", F.TRUNCATED, F.TRUNCATED),  # stopped after the opening tag
    ("extra_answer_tag", "<answer>maybe</answer>\n" + A, "A", "A"),  # a tag without a mark is no second verdict
    ("triple_brackets", "<answer>[[[A]]]</answer>", F.MALFORMED, "A"),  # extra brackets around the mark
    ("nested_code_lists", "x = [[[1]], [[2]]]\n" + B, "B", "B"),  # runs of [ in code are not marks
    ("single_ascii_brackets", "Choose [A] 【x", F.MISSING, F.MISSING),  # [A] is no mark, even beside a lookalike
    ("reopened_think", "</think>" + A + "<think>more", F.INSIDE_THINKING, F.INSIDE_THINKING),  # reopened, unclosed
    ("rethink_word", "I rethink> this.\n" + B, "B", "B"),  # "think>" inside another word is not a tag
    ("fullwidth_tags", "＜answer＞[[A]]＜/answer＞", F.LOOKALIKE, "A"),  # NFKC reads these as answer tags
]

# Issue 12, item 4: non-Latin text near a clean verdict is ordinary text, not a lookalike verdict.
MULTILINGUAL = [
    ("cjk_brackets_word", "【分析】A更好。\n" + A, "A", "A"),  # lenticular brackets around a word
    ("cyrillic_with_ref", "Сравнение [1]. Итак, ответ: " + A, "A", "A"),  # Cyrillic prose, a citation [1]
    ("greek_capitals", "See [1]. ΑΒΓ " + B, "B", "B"),  # Greek capitals that look like A and B
    ("cjk_single_label", "见【A】与〔B〕。\n" + B, "B", "B"),  # single lookalike brackets: no mark (item 6)
    ("cyrillic_word_then_tag", "Ответ в конце: " + B, "B", "B"),  # Cyrillic в right before the tag
    ("japanese_quote", "「A」の方が良い。\n" + A, "A", "A"),  # corner brackets are quotation marks
]

# Issue 12, item 6: a mark is double brackets of any square-bracket family around a label that
# NFKC-normalises (or is a known confusable) to A or B. Everything else is ordinary text.
HEDGES = [
    ("single_lenticular", "【A】 is tempting.\n" + B, "B", "B"),  # one bracket each side is no mark
    ("mixed_single", "Use [B】 here.\n" + A, "A", "A"),  # ASCII open, lookalike close, single
    ("math_bold_b", "[[𝐁]]\n" + A, F.COMPETING, F.COMPETING),  # U+1D401 MATHEMATICAL BOLD CAPITAL B
    ("white_lenticular", "〖〖B〗〗\n" + A, F.COMPETING, F.COMPETING),  # U+3016/3017
    ("fullwidth_lower", "[[ｂ]]\n" + A, F.COMPETING, F.COMPETING),  # U+FF42
    ("circled", "[[Ⓑ]]\n" + A, F.COMPETING, F.COMPETING),  # U+24B7, NFKC -> B
    ("script_b_spaced", "[[ ℬ ]]\n" + A, F.COMPETING, F.COMPETING),  # U+212C with inner spaces
    ("ideographic_spaces", "[[\u3000B\u3000]]\n" + A, F.COMPETING, F.COMPETING),  # NFKC spaces inside
    ("mixed_families", "[【B】]\n" + A, F.COMPETING, F.COMPETING),  # two brackets of two families
    ("tortoise_quill", "⁅⁅b⁆⁆ 〘〘B〙〙\n" + A, F.COMPETING, F.COMPETING),  # quill and white tortoise shell
    ("vertical_forms", "︻︻B︼︼\n" + A, F.COMPETING, F.COMPETING),  # presentation forms, NFKC -> 【】
    ("greek_beta", "[[β]]\n" + A, F.COMPETING, F.COMPETING),  # a confusable, not NFKC
    ("same_label_bold", "[[𝐀]]\n" + A, F.COMPETING, "A"),  # a lookalike repeat: strict fails, lenient agrees
    ("bold_verdict", "<answer>[[𝐀]]</answer>", F.LOOKALIKE, F.LOOKALIKE),  # the only mark is a lookalike
    ("lenticular_verdict", "<answer>〖〖B〗〗</answer>", F.LOOKALIKE, F.LOOKALIKE),  # ditto, other family
    ("zero_width_inside", "[[\u200bB]]\n" + A, "A", "A"),  # a neutralised mark is inert
    ("other_letter", "[[𝐂]] [[c]]\n" + A, "A", "A"),  # only A and B are labels
    ("round_parens", "((B)) {{B}}\n" + A, "A", "A"),  # only square-bracket families make marks
]

# Issue 12, item 7: an output that stops inside a tag (or a mark) is truncated in both modes.
TRUNCATION = [
    ("cut_after_slash", "<answer>[[A]]</", F.TRUNCATED, F.TRUNCATED),  # the echo seen from a small model
    ("cut_before_gt", "<answer>[[B]]</answer", F.TRUNCATED, F.TRUNCATED),  # closing tag without >
    ("cut_spaced_close", "<answer>[[B]]< / answ", F.TRUNCATED, F.TRUNCATED),  # tag-like spacing
    ("cut_bare_lt", "[[A]] then <", F.TRUNCATED, F.TRUNCATED),  # stopped right after <
    ("cut_think_open", "[[A]] wait, <thi", F.TRUNCATED, F.TRUNCATED),  # a partial opening tag
    ("cut_other_tag", "<answer>[[B]]</answer>\n<eva", F.TRUNCATED, F.TRUNCATED),  # any tag name
    ("cut_new_answer", "[[A]] so <answer>", F.TRUNCATED, F.TRUNCATED),  # opened the answer and stopped
    ("cut_second_mark", "[[A]] no, [[B", F.TRUNCATED, F.TRUNCATED),  # stopped inside a second mark
    ("cut_mark_close", "<answer>[[B]", F.TRUNCATED, F.TRUNCATED),  # one closing bracket of two
    ("comparison_not_tag", "[[A]] since x < y", F.NOT_AT_END, "A"),  # '< y' is prose, not a tag
    ("closed_tag_tail", "[[A]] </answer>", F.MALFORMED, "A"),  # complete closing tag: not truncated
]

CASES = CASES + MULTILINGUAL + HEDGES + TRUNCATION


@pytest.mark.parametrize(("text", "strict", "lenient"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_table(text: str, strict: object, lenient: object) -> None:
    for mode, expected in (("strict", strict), ("lenient", lenient)):
        got = parse_verdict(text, mode)
        outcome = got.label if got.ok else got.failure
        assert outcome == expected, f"{mode}: {text!r}"
        assert (got.label is None) != (got.failure is None)


def test_format_verdict_round_trip() -> None:
    for label in LABELS:
        assert parse_verdict(format_verdict(label)).label == label


@pytest.mark.parametrize("bad", ["C", "a", "", "AB", None])
def test_format_verdict_rejects_unknown_label(bad: object) -> None:
    with pytest.raises(ValueError, match="not one of"):
        format_verdict(bad)  # type: ignore[arg-type]


def test_unknown_mode_and_type_raise() -> None:
    with pytest.raises(ValueError, match="parse mode"):
        parse_verdict(A, "fuzzy")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_verdict(None)  # type: ignore[arg-type]


MB = 1 << 20
# Large inputs: the verdict is still found (or the failure named) after a megabyte of text.
LARGE = [
    ("prose_then_verdict", "word " * (MB // 5) + A, "A"),  # 1 MB of reasoning, clean verdict
    ("think_then_verdict", "<think>" + "x" * MB + "</think>" + B, "B"),  # 1 MB thinking block
    ("brackets_flood", "[[" * (MB // 2) + A, "A"),  # a flood of stray [[ (not verdict marks), then a clean verdict
    ("tags_flood", "<answer>" * (MB // 8), F.TRUNCATED),  # ends in an opening tag
    ("no_verdict", "z" * MB, F.MISSING),  # nothing to find
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in LARGE], ids=[c[0] for c in LARGE])
def test_megabyte_inputs(text: str, expected: object) -> None:
    got = parse_verdict(text)
    assert (got.label if got.ok else got.failure) == expected
