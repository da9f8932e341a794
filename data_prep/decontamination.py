"""Drop training pairs whose prompt overlaps a benchmark prompt.

Text is normalised first (:func:`normalise_words`: NFKC, case folded, punctuation removed, split on
whitespace). A training prompt (its client turns) matches a benchmark prompt when either

* **exact**: the normalised prompts are equal, or one client turn of at least ``MIN_TURN_WORDS``
  words equals a benchmark client turn (so a multi-turn conversation that opens with a benchmark
  question is caught, while "continue" or "thanks" turns, which recur everywhere, are not); or
* **n-gram**: they share word n-grams (default n = 13, the size GPT-3's decontamination used) making
  up at least ``threshold`` (default 0.5) of the SHORTER prompt's distinct n-grams: a training prompt
  that contains most of a benchmark prompt, or is most of one, matches. Prompts shorter than n words
  have no n-grams and can only match exactly.

Counts per benchmark go into the manifest: prompts indexed, training pairs matched (exact / n-gram).
N-grams are stored as Python hashes (in memory, one process), so the index stays small.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from data_prep.pairs import PreferencePair

DEFAULT_NGRAM = 13
DEFAULT_THRESHOLD = 0.5
MIN_TURN_WORDS = 8
_PUNCTUATION = re.compile(r"[^\w\s]+|_+")
# The same rule for ASCII text as one C-speed table: punctuation, '_' and control characters become spaces.
_ASCII_TO_SPACE = str.maketrans(dict.fromkeys(
    [c for c in map(chr, range(128)) if c == "_" or not (c.isalnum() or c.isspace())], " "))


def normalise_words(text: str) -> list[str]:
    """Words of ``text`` after NFKC, case folding and replacing punctuation by spaces."""
    if text.isascii():
        return text.lower().translate(_ASCII_TO_SPACE).split()
    return _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split()


@dataclass
class BenchmarkStats:
    """Per-benchmark counts for the manifest."""

    prompts: int = 0
    exact: int = 0
    ngram: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"prompts": self.prompts, "pairs_exact": self.exact, "pairs_ngram": self.ngram,
                "pairs": self.exact + self.ngram}


@dataclass
class BenchmarkIndex:
    """Exact keys and n-gram hashes of benchmark prompts, and the matching of training prompts."""

    n: int = DEFAULT_NGRAM
    threshold: float = DEFAULT_THRESHOLD
    stats: dict[str, BenchmarkStats] = field(default_factory=dict)
    _exact: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _grams: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    _gram_set: set[int] = field(default_factory=set)
    _sizes: list[int] = field(default_factory=list)
    _owner: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.n < 1 or not 0 < self.threshold <= 1:
            raise ValueError(f"n-gram size {self.n} must be >= 1 and threshold {self.threshold} in (0, 1].")

    def add(self, benchmark: str, prompts: Iterable[Sequence[str]]) -> None:
        """Index every prompt (a list of client turns) of ``benchmark``."""
        stats = self.stats.setdefault(benchmark, BenchmarkStats())
        for turns in prompts:
            stats.prompts += 1
            keys = self._keys(turns)
            if not keys:
                continue
            whole = keys[0]
            if benchmark in self._exact.get(whole, ()):
                continue  # the same prompt again (RMB repeats prompts across its sets)
            for key in keys:
                self._exact[key].add(benchmark)
            grams = self._gram_hashes(whole.split())
            if grams:
                item = len(self._sizes)
                self._sizes.append(len(grams))
                self._owner.append(benchmark)
                for gram in grams:
                    self._grams[gram].append(item)
                self._gram_set |= grams

    def matches(self, turns: Sequence[str]) -> dict[str, str]:
        """``{benchmark: "exact" | "ngram"}`` for every benchmark the prompt overlaps."""
        keys = self._keys(turns)
        if not keys:
            return {}
        found = {b: "exact" for key in keys for b in self._exact.get(key, ())}
        grams = self._gram_hashes(keys[0].split())
        hits = grams & self._gram_set if grams else ()  # set & set runs in C; most prompts share nothing
        if not hits:
            return found
        shared: Counter[int] = Counter()
        for gram in hits:
            shared.update(self._grams[gram])
        for item, count in shared.items():
            if count >= self.threshold * min(len(grams), self._sizes[item]):
                found.setdefault(self._owner[item], "ngram")
        return found

    def _keys(self, turns: Sequence[str]) -> list[str]:
        """The whole prompt's normalised text first, then each long enough turn's."""
        words = [normalise_words(t) for t in turns]
        whole = " ".join(w for turn in words for w in turn)
        if not whole:
            return []
        return [whole] + [" ".join(w) for w in words if len(w) >= MIN_TURN_WORDS and len(words) > 1]

    def _gram_hashes(self, words: list[str]) -> set[int]:
        if len(words) < self.n:
            return set()
        return set(map(hash, zip(*(words[i:] for i in range(self.n)), strict=False)))


def is_contaminated(pair: PreferencePair, index: BenchmarkIndex) -> bool:
    """True if the pair's client turns overlap any benchmark; counts each benchmark's match in ``index.stats``."""
    found = index.matches([m["content"] for m in pair.conversation if m["role"] == "user"])
    for benchmark, how in found.items():
        stats = index.stats[benchmark]
        if how == "exact":
            stats.exact += 1
        else:
            stats.ngram += 1
    return bool(found)
