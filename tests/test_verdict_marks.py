"""What a verdict mark is (issue 12, item 6): a table of shapes, and the NFKC definition checked over Unicode."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reward_fns import marks
from reward_fns.verdict import _iter_marks

# (shape, label it reads as, or None when it is no mark)
SHAPES = [
    ("[[A]]", "A"),  # the contract's own mark
    ("[[b]]", "B"),  # any case
    ("[[ A ]]", "A"),  # inner spaces
    ("[[    B    ]]", "B"),  # up to four spaces each side
    ("[[     B]]", None),  # five spaces: no longer a mark (keeps every match bounded)
    ("[[\tA]]", "A"),  # a tab is an inner space
    ("[[\u3000A\u00a0]]", "A"),  # ideographic space and no-break space: NFKC spaces
    ("［［Ａ］］", "A"),  # fullwidth brackets and letter
    ("【【B】】", "B"),  # black lenticular
    ("〖〖B〗〗", "B"),  # white lenticular
    ("〚〚a〛〛", "A"),  # white square
    ("⟦⟦B⟧⟧", "B"),  # mathematical white square
    ("〔〔A〕〕", "A"),  # tortoise shell
    ("〘〘B〙〙", "B"),  # white tortoise shell
    ("⁅⁅A⁆⁆", "A"),  # square bracket with quill
    ("⦋⦋B⦌⦌", "B"),  # square bracket with underbar
    ("︻︻B︼︼", "B"),  # vertical presentation form, NFKC -> 【】
    ("﹇﹇A﹈﹈", "A"),  # vertical square bracket, NFKC -> []
    ("﹝﹝b﹞﹞", "B"),  # small tortoise shell, NFKC -> 〔〕
    ("[【A】]", "A"),  # two families mixed in one mark
    ("[[[B]]]", "B"),  # extra brackets: the innermost pair is the mark
    ("[[𝐁]]", "B"),  # U+1D401 mathematical bold capital B
    ("[[𝒶]]", "A"),  # U+1D4B6 mathematical script small a
    ("[[ℬ]]", "B"),  # U+212C script capital B (letterlike symbols)
    ("[[Ⓐ]]", "A"),  # circled letter
    ("[[ª]]", "A"),  # feminine ordinal indicator, NFKC -> a
    ("[[ᴮ]]", "B"),  # modifier letter capital B
    ("[[🄱]]", "B"),  # squared capital B
    ("[[А]]", "A"),  # Cyrillic A: a confusable, not NFKC
    ("[[в]]", "B"),  # Cyrillic ve
    ("[[β]]", "B"),  # Greek beta
    ("[[ᴀ]]", "A"),  # Latin small capital A
    ("【A】", None),  # single brackets are everyday CJK text
    ("[B】", None),  # single, mixed families
    ("[A]", None),  # single ASCII
    ("[ [A] ]", None),  # the brackets of a mark must touch
    ("((A))", None),  # round brackets are no square-bracket family
    ("{{B}}", None),  # nor are braces (templates)
    ("「「A」」", None),  # nor corner brackets (quotation marks)
    ("⎡⎡A⎤⎤", None),  # nor the pieces of tall mathematical brackets
    ("[[C]]", None),  # only A and B are labels
    ("[[𝐂]]", None),  # ...whatever the font
    ("[[AB]]", None),  # one label character
    ("[[1]]", None),  # digits are no label
    ("[[\u200bA]]", None),  # the neutraliser's zero-width space makes it inert
    ("[[A\u0301]]", None),  # A with a combining acute is Á after NFKC
    ("[[Á]]", None),  # precomposed Á
    ("[[\nA]]", None),  # a newline is no inner space
    ("[[A]", None),  # one closing bracket
    ("[[ A", None),  # unclosed
]


@pytest.mark.parametrize(("shape", "label"), SHAPES, ids=[repr(s) for s, _ in SHAPES])
def test_mark_shapes(shape: str, label: str | None) -> None:
    for text in (shape, f"x {shape} y", f"见{shape}。"):  # alone, in ASCII prose, in CJK prose
        found = [m.label for m in _iter_marks(text, 0, len(text))]
        assert found == ([label] if label else []), text


# ---- the character classes ARE the NFKC definition, over all of Unicode -----------------------------

ALL_CHARS = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]


def _nfkc(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def test_bracket_classes_are_every_nfkc_form_of_the_families() -> None:
    assert {c for c in ALL_CHARS if _nfkc(c) in marks.BASE_OPEN} == set(marks.OPEN)
    assert {c for c in ALL_CHARS if _nfkc(c) in marks.BASE_CLOSE} == set(marks.CLOSE)


def test_base_families_are_the_named_square_lenticular_and_tortoise_brackets() -> None:
    kinds = ("SQUARE BRACKET", "LENTICULAR BRACKET", "TORTOISE SHELL BRACKET")
    named = {c for c in ALL_CHARS if any(k in unicodedata.name(c, "") for k in kinds)}
    paired = {c for c in named if unicodedata.category(c) in ("Ps", "Pe") and not unicodedata.name(c).startswith("TAG")}
    base = {c for c in paired if _nfkc(c) == c}  # compatibility forms are reached through NFKC instead
    assert base == set(marks.BASE_OPEN + marks.BASE_CLOSE)


def test_label_and_space_classes_are_every_nfkc_form() -> None:
    assert {c for c in ALL_CHARS if marks.fold_label(c) in ("a", "b")} == set(marks.LABEL_CHARS)
    assert {c for c in ALL_CHARS if _nfkc(c) == " "} | {"\t"} == set(marks.SPACES)


def test_every_class_member_normalises_to_one_character() -> None:
    """Why judging characters one by one equals normalising the span: no member expands."""
    for c in marks.OPEN + marks.CLOSE + marks.LABEL_CHARS + marks.SPACES:
        assert len(_nfkc(c)) == 1, hex(ord(c))


def _reference(text: str) -> list[str]:
    """The definition itself: NFKC the whole text, fold each character, find the ASCII shape."""
    folded = "".join(_fold_ref(c) for c in unicodedata.normalize("NFKC", text))
    out, i = [], folded.find("[[")
    while i >= 0:
        run_end = re.match(r"\[+", folded[i:]).end() + i  # type: ignore[union-attr]
        m = re.match(r"[ \t]{0,4}([ab])[ \t]{0,4}\]\]", folded[run_end:])
        if m:
            out.append(m.group(1).upper())
        i = folded.find("[[", run_end)
    return out


def _fold_ref(c: str) -> str:
    if c in marks.BASE_OPEN:
        return "["
    if c in marks.BASE_CLOSE:
        return "]"
    return marks.fold_label(c) if marks.fold_label(c) in ("a", "b") else c  # NFKC already made spaces " "


PIECES = st.sampled_from(
    ["[", "]", "【", "】", "〖", "〗", "［", "］", "﹇", "﹈", "A", "b", "𝐁", "Ａ", "А", "C", " ", "\t", "\u3000",
     "\u0301", "\u200b", "\n", "x", "🄪", "⒜"]
)


@given(st.lists(PIECES, max_size=14).map("".join))
def test_marks_found_equal_the_nfkc_reference(text: str) -> None:
    assert [m.label for m in _iter_marks(text, 0, len(text))] == _reference(text)
