"""Deterministic pseudo-English for synthetic datasets and tokenizer training (no real text anywhere).

Words come from a seeded lexicon of syllable-built pseudo-words (plus common English function words)
drawn with Zipf frequencies, as in natural text, so a byte-level BPE tokenizer trained on it behaves
like a real one on real prose: frequent words are single tokens, rare ones split. Sentences are drawn
from a pool, so producing hundreds of megabytes is fast. Code-like and math-like paragraphs give the
Code-Preference-Pairs and Math-Step-DPO look-alikes their shape.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

_ONSETS = ("", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z",
           "br", "cr", "dr", "fr", "gr", "pr", "tr", "bl", "cl", "fl", "gl", "pl", "sl", "st", "sp", "sc", "sk",
           "sm", "sn", "sw", "th", "sh", "ch", "wh", "qu", "str", "spr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "ie", "oa", "y", "io")
_CODAS = ("", "", "n", "r", "s", "t", "l", "m", "nd", "nt", "st", "ng", "ck", "rd", "ss", "th", "x", "ct")
_FUNCTION = ("the of and to a in is that for it as with was on be by this are or from at which not have an "
             "but can you all will your if has more one their so we what about when there how would may").split()
_PUNCT = (".", ".", ".", ",", "?", "!", ":", ";")


class TextMaker:
    """Seeded generator of prose, code-like and math-like text, in word counts."""

    def __init__(self, seed: int = 0, lexicon_size: int = 60_000, pool_size: int = 20_000) -> None:
        self.rng = random.Random(f"synthetic-text:{seed}")
        words = set(_FUNCTION)
        while len(words) < lexicon_size:
            words.add(self._pseudo_word())
        self.lexicon = list(_FUNCTION) + sorted(words - set(_FUNCTION))
        self.cum_weights = list(itertools.accumulate(1.0 / (rank + 2) ** 1.05 for rank in range(len(self.lexicon))))
        self.pool = [self._sentence() for _ in range(pool_size)]
        self.pool_words = [s.count(" ") + 1 for s in self.pool]

    def _pseudo_word(self) -> str:
        syllables = self.rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        return "".join(self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
                       for _ in range(syllables))

    def _sentence(self) -> str:
        words = self.rng.choices(self.lexicon, cum_weights=self.cum_weights, k=self.rng.randint(5, 24))
        words[0] = words[0].capitalize()
        if self.rng.random() < 0.1:
            words.insert(self.rng.randrange(len(words)), str(self.rng.randint(0, 2030)))
        return " ".join(words) + self.rng.choice(_PUNCT)

    def prose(self, n_words: int) -> str:
        """About ``n_words`` words of sentences in paragraphs."""
        out: list[str] = []
        total = 0
        while total < n_words:
            k = self.rng.randrange(len(self.pool))
            out.append(self.pool[k])
            total += self.pool_words[k]
            if self.rng.random() < 0.15:
                out.append("\n\n")
        return " ".join(out).replace(" \n\n ", "\n\n").strip()

    def code(self, n_words: int) -> str:
        """Code-like lines (indentation, identifiers, calls, numbers) of about ``n_words`` tokens' worth."""
        lines = ["```python"]
        total = 0
        while total < n_words:
            name = "_".join(self.rng.choices(self.lexicon[:5000], k=self.rng.randint(1, 3))).lower()
            depth = "    " * self.rng.randint(0, 3)
            kind = self.rng.random()
            if kind < 0.2:
                line = f"def {name}({', '.join(self.rng.choices(self.lexicon[:800], k=self.rng.randint(0, 3)))}):"
            elif kind < 0.7:
                line = f"{depth}{name} = {name}[{self.rng.randint(0, 99)}] + {self.rng.randint(1, 999)}"
            else:
                line = f"{depth}# {self.pool[self.rng.randrange(len(self.pool))]}"
            lines.append(line)
            total += line.count(" ") + 2
        lines.append("```")
        return "\n".join(lines)

    def math(self, n_words: int, first_step: int = 1) -> str:
        """Numbered solution steps with arithmetic, about ``n_words`` words."""
        steps = []
        total, step = 0, first_step
        while total < n_words:
            a, b = self.rng.randint(2, 999), self.rng.randint(2, 99)
            text = self.prose(self.rng.randint(8, 30))
            steps.append(f"Step {step}: {text} We have ${a} \\times {b} = {a * b}$.")
            total += steps[-1].count(" ") + 1
            step += 1
        return "\n".join(steps) + "\n"

    def corpus(self, n_chars: int) -> Iterator[str]:
        """Lines of prose, code and math totalling about ``n_chars`` characters (for tokenizer training)."""
        made = 0
        while made < n_chars:
            kind = self.rng.random()
            line = self.code(60) if kind < 0.15 else self.math(60) if kind < 0.3 else self.prose(120)
            made += len(line)
            yield line
