"""What a verdict mark is, as character classes that the parser and the neutraliser share.

A verdict mark is two (or more) opening brackets of any square-bracket family, up to four spaces, ONE
label character, up to four spaces and two closing brackets, where each character is judged by its
NFKC form: ``［［Ａ］］``, ``〖〖B〗〗``, ``[[𝐁]]`` and ``[[ b ]]`` are all marks. A label is a character
whose NFKC form is ``A``/``B`` in any case, or a known confusable (Cyrillic, Greek, ...) of one. Single
brackets (``【A】``, ``[B】``) are everyday text in many languages and never form a mark.

Judging characters one by one is the same as normalising the span first: NFKC maps none of these
characters to more than one character, and composition can only turn a label into a non-label
(``A`` + U+0301 becomes ``Á``), which a per-character class also rejects because the combining mark
is not a space or bracket. ``tests/test_verdict_marks.py`` checks both claims over all of Unicode.

Sets are built at import from short code-point ranges (about a thousand NFKC calls, well under a
millisecond), so there is no hand-typed list of 70 mathematical letters to get wrong.
"""

from __future__ import annotations

import re
import unicodedata

# The square-bracket families: every Ps/Pe character named SQUARE, LENTICULAR or TORTOISE SHELL
# BRACKET, except the invisible TAG brackets. Characters whose NFKC form is one of these (fullwidth,
# small and vertical presentation forms) are added below.
BASE_OPEN = "[⁅❲⟦⟬⦋⦍⦏⦗⹕⹗【〔〖〘〚"
BASE_CLOSE = "]⁆❳⟧⟭⦌⦎⦐⦘⹖⹘】〕〗〙〛"
_BRACKET_FORMS = ((0xFE10, 0xFE4F), (0xFE50, 0xFE6F), (0xFF00, 0xFF65))  # vertical, small, fullwidth

# Characters that look like a label without NFKC saying so, folded to what they imitate.
CONFUSABLE_LABELS = {
    "А": "a", "а": "a", "В": "b", "в": "b",  # Cyrillic
    "Α": "a", "α": "a", "Β": "b", "β": "b",  # Greek
    "ᴀ": "a", "ʙ": "b",  # Latin small capitals
    "Ꭺ": "a", "Ᏼ": "b",  # Cherokee
    "ꓮ": "a", "ꓐ": "b",  # Lisu
}  # fmt: skip
# Where NFKC-to-A/B characters live: ASCII, ª, modifier and subscript letters, letterlike symbols,
# circled, fullwidth, mathematical alphanumerics, squared letters.
_LABEL_RANGES = (
    (0x41, 0x7A), (0xAA, 0xAA), (0x1D2C, 0x1D6A), (0x2090, 0x209C), (0x2100, 0x214F), (0x24B6, 0x24E9),
    (0xFF21, 0xFF5A), (0x1D400, 0x1D7FF), (0x1F130, 0x1F149),
)  # fmt: skip
# Spaces allowed inside a mark: tab and every character whose NFKC form is a plain space.
SPACES = " \t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
MAX_INNER_SPACES = 4  # a bound keeps every match O(1): no backtracking blow-up on adversarial input


def _nfkc(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def fold_label(ch: str) -> str:
    """'a', 'b', or something else: what one character reads as when it stands inside a mark."""
    return CONFUSABLE_LABELS.get(ch) or _nfkc(ch).casefold()


def _chars(ranges: tuple[tuple[int, int], ...], keep: str) -> str:
    return "".join(chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1) if _nfkc(chr(cp)) in keep)


OPEN = BASE_OPEN + _chars(_BRACKET_FORMS, BASE_OPEN)
CLOSE = BASE_CLOSE + _chars(_BRACKET_FORMS, BASE_CLOSE)
LABEL_CHARS = "".join(
    sorted({chr(cp) for lo, hi in _LABEL_RANGES for cp in range(lo, hi + 1) if fold_label(chr(cp)) in ("a", "b")}
           | set(CONFUSABLE_LABELS))
)  # fmt: skip
NON_ASCII_OPEN = OPEN.replace("[", "")


def char_class(chars: str) -> str:
    """A regex character class matching exactly ``chars``."""
    return "[" + "".join(re.escape(c) for c in chars) + "]"


# Regex character classes, and the body of a mark: what may follow a run of opening brackets.
OPEN_CLS, CLOSE_CLS, LABEL_CLS, SPACE_CLS = (char_class(x) for x in (OPEN, CLOSE, LABEL_CHARS, SPACES))
INNER = f"{SPACE_CLS}{{0,{MAX_INNER_SPACES}}}"
# The opening of a mark (only its last two brackets belong to it). Spelled "OO+" rather than "O{2,}":
# a pattern that starts with a plain class lets the regex engine skip ahead, 2.5x faster on CJK text.
OPEN_RUN = re.compile(f"{OPEN_CLS}{OPEN_CLS}+")
MARK_BODY = re.compile(f"{INNER}({LABEL_CLS}){INNER}{CLOSE_CLS}{{2}}")  # matched right after an opening run
