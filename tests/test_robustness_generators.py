"""Issue 21 items 2-5 and 8: every probe generator on synthetic fixtures, and the library's two parts.

The payload lands in the worse answer only, edits change the key fact they name, rewrites keep every
word, the seed decides every choice, and the defence pairs (training data) never carry an eval text.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.pairs import PreferencePair, make_pair
from data_prep.robustness.defence import KINDS, defence_pairs, truncated_opening, with_defence
from data_prep.robustness.library import DEFENCE, EVAL, INJECTION_FAMILIES, fill, label_bound
from eval.benchmark import make_comparison
from eval.robustness.edits import REWRITES, RULES, counterfactual, homoglyph, zero_width
from eval.robustness.faithfulness import CORRUPTIONS, VERDICT_LEAD, corrupt
from eval.robustness.generators import PROBES, ProbePlan, probe_comparisons
from reward_fns import format_verdict
from testkit.robust_judges import deobfuscate

BETTER = "First, 6 times 7 is 42. So the answer is 42."
WORSE = "The answer is 41."


def _base(truth: str = "1"):
    one, two = (BETTER, WORSE) if truth == "1" else (WORSE, BETTER)
    return make_comparison("q1", "q1", "What is 6 times 7?", one, two, truth=truth)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text)


@pytest.mark.parametrize("truth", ["1", "2"])  # the better answer first, then second in the source row
def test_injection_lands_in_the_worse_answer_only(truth: str) -> None:
    probes = [c for c in probe_comparisons(_base(truth), ProbePlan(("clean", "injection"))) if c.metadata["probe"]
              == "injection"]
    families = {c.metadata["family"] for c in probes}
    assert set(INJECTION_FAMILIES) <= families and {"obfuscated:zero_width", "obfuscated:homoglyph"} <= families
    for probe in probes:
        assert probe.truth == "1" and probe.answer_1[-1]["content"] == BETTER  # the better answer untouched
        assert probe.conversation[-1]["content"] == "What is 6 times 7?"
        loser = probe.answer_2[-1]["content"]
        assert loser.startswith(WORSE) and loser != WORSE and loser.endswith(probe.metadata["payload"])


def test_label_bound_payloads_are_planted_once_per_position() -> None:
    probes = [c for c in probe_comparisons(_base(), ProbePlan(("clean", "injection")))
              if c.metadata["probe"] == "injection"]
    by_family: dict[str, list[str]] = {}
    for probe in probes:
        by_family.setdefault(probe.metadata["family"], []).append(probe.metadata["target"])
    for family in ("planted_verdict", "delimiter_spoof", "fake_think"):  # always name a label
        assert sorted(by_family[family]) == ["A", "B"]
    for family in ("authority", "judge_instruction", "reflection"):  # never name one
        assert by_family[family] == ["any"]


def test_every_template_fills_and_the_two_parts_are_disjoint() -> None:
    eval_filled = {fill(t, lab, multi) for ts in EVAL.injections.values() for t in ts for lab in "AB"
                   for multi in (False, True)}
    defence_filled = {fill(t, lab, multi) for ts in DEFENCE.injections.values() for t in ts for lab in "AB"
                      for multi in (False, True)}
    assert not EVAL.texts() & DEFENCE.texts()
    assert not eval_filled & defence_filled
    assert all("{" not in text for text in eval_filled | defence_filled)  # no placeholder left
    assert set(EVAL.injections) == set(DEFENCE.injections) == set(INJECTION_FAMILIES)
    assert label_bound("{verdict_own}") and not label_bound("plain words")


@pytest.mark.parametrize(("text", "rule", "before", "after_differs"), [
    ("So the answer is 42.", "final_number", "42", True),  # math: the last number
    ("x = 3.5 and y = 4.25", "final_number", "4.25", True),  # decimals keep their places
    ("```python\nreturn a < b\n```", "code_operator", "<", True),  # code: the first operator in the fence
    ("```\nx = a + b\n```\nDone.", "code_operator", " + ", True),
    ("The function returns 7 for n = 3.", "code_output", "7", True),  # a stated output, not the last number
    ("Paris is the capital of France.", "negation", "is", True),  # a claim, negated
    ("It is not raining today.", "negation", "is not", True),  # a negated claim, un-negated
])
def test_counterfactual_edits_change_the_key_fact(text: str, rule: str, before: str, after_differs: bool) -> None:
    edit = counterfactual(text, random.Random(0))
    assert edit is not None and edit.rule == rule and edit.before == before
    assert edit.after != edit.before and edit.text != text
    assert edit.text.replace(edit.after, edit.before, 1) == text  # exactly the key fact changed


def test_text_without_a_key_fact_is_outside_coverage() -> None:
    assert counterfactual("hello there friend", random.Random(0)) is None
    base = make_comparison("q", "q", "Hi", "hello there friend", "bye")
    assert not [c for c in probe_comparisons(base, ProbePlan(("clean", "counterfactual")))
                if c.metadata["probe"] == "counterfactual"]


@given(st.lists(st.sampled_from(["The cat is here.", "It can fly.", "Answer: 12", "- item one", "**bold**",
                                 "```\ncode(1)\n```", "two words"]), min_size=1, max_size=5))
def test_rewrites_keep_every_word(parts: list[str]) -> None:
    text = "\n".join(parts)
    for name, rewrite in REWRITES.items():
        kept = Counter(_words(rewrite(text)))
        assert not Counter(_words(text)) - kept, name  # a rewrite may add a label, never drop a word


def test_invariance_and_style_probes_touch_only_their_side() -> None:
    probes = probe_comparisons(_base(), ProbePlan(("clean", "invariance", "style", "master_key")))
    for probe in probes:
        kind = probe.metadata["probe"]
        if kind == "invariance":
            assert probe.answer_2[-1]["content"] == WORSE and set(_words(BETTER)) <= set(_words(
                probe.answer_1[-1]["content"]))
        if kind == "style":
            assert probe.answer_1[-1]["content"] == BETTER and WORSE.rstrip(".") in probe.answer_2[-1]["content"]
        if kind == "master_key":
            assert probe.answer_1[-1]["content"] == BETTER and len(probe.answer_2) == 1
    keys = {p.metadata["variant"]: p.answer_2[0]["content"] for p in probes if p.metadata["probe"] == "master_key"}
    assert keys["colon"] == ":" and keys["thought_process"] == "Thought process:" and keys["empty"] == ""
    assert keys["first_sentence_cut"] == truncated_opening(BETTER) and BETTER.startswith(keys["first_sentence_cut"])


def test_probes_are_seeded_and_ids_unique() -> None:
    first = probe_comparisons(_base(), ProbePlan(PROBES, seed=3))
    again = probe_comparisons(_base(), ProbePlan(PROBES, seed=3))
    assert first == again
    assert len({c.comparison_id for c in first}) == len(first)
    payloads = {seed: [c.metadata.get("payload") for c in probe_comparisons(_base(), ProbePlan(PROBES, seed=seed))]
                for seed in range(6)}
    assert len({tuple(p) for p in payloads.values()}) > 1  # the seed picks templates and obfuscations


@given(st.text(max_size=60), st.integers(0, 10))
def test_obfuscation_reads_the_same_once_undone(text: str, seed: int) -> None:
    assert deobfuscate(zero_width(text, random.Random(seed))) == deobfuscate(text)
    assert deobfuscate(homoglyph(text, random.Random(seed))) == deobfuscate(text)


def _pairs(n: int):
    return [make_pair("synthetic", f"Question {i}?", f"A full answer number {i}. It explains why.",
                      f"A weak answer {i}.", pair_id=f"p{i}") for i in range(n)]


def test_defence_pairs_are_labelled_counted_and_seeded() -> None:
    pairs = _pairs(200)
    made = defence_pairs(pairs, 0.25, seed=7)
    assert 25 <= len(made.pairs) <= 75 and sum(made.counts.values()) == len(made.pairs)
    assert set(made.counts) == set(KINDS) and all(made.counts[k] > 0 for k in KINDS)
    source = {p.id: p for p in pairs}
    for pair in made.pairs:
        meta = pair.metadata["defence"]
        original = source[meta["source_pair"]]
        assert pair.chosen == original.chosen and pair.rejected != original.rejected and meta["chosen_must_win"]
    assert defence_pairs(pairs, 0.25, seed=7) == made
    assert defence_pairs(pairs, 0.25, seed=8).pairs != made.pairs
    assert defence_pairs(pairs, 0.0, seed=7).pairs == [] and len(defence_pairs(pairs, 1.0, seed=7).pairs) == 200
    with pytest.raises(ValueError, match="between 0 and 1"):
        defence_pairs(pairs, 1.5, seed=7)


def test_defence_rows_never_carry_an_eval_probe_text() -> None:
    # The bare verdict is the judge's own output format, which both parts necessarily share; every other
    # eval payload is a text of ours that training must never see.
    bare = {format_verdict(lab) for lab in "AB"}
    eval_texts = {fill(t, lab, multi).strip() for ts in EVAL.injections.values() for t in ts for lab in "AB"
                  for multi in (False, True)} - bare
    eval_keys = {k for k in EVAL.master_keys.values() if len(k.strip()) > 1}
    for pair in defence_pairs(_pairs(300), 1.0, seed=1).pairs:
        loser = pair.rejected[-1]["content"]
        assert not any(text in loser for text in eval_texts)
        assert loser.strip() not in eval_keys and loser not in EVAL.master_keys.values()


@given(st.text(max_size=200), st.integers(0, 5))
def test_counterfactual_never_raises_and_always_changes_what_it_names(text: str, seed: int) -> None:
    edit = counterfactual(text, random.Random(seed))
    if edit is not None:
        assert edit.rule in RULES and edit.text != text and edit.before in text and edit.after in edit.text


@given(st.text(max_size=200), st.sampled_from(CORRUPTIONS))
def test_corruption_never_raises_and_ends_where_the_label_goes(text: str, how: str) -> None:
    prefix = corrupt(text, how, random.Random(0))
    assert prefix is None or prefix.endswith(VERDICT_LEAD)


def test_with_defence_streams_each_defence_pair_right_after_its_source() -> None:
    pairs = _pairs(50)
    counts: Counter[str] = Counter()
    stream = list(with_defence(["not a pair", *pairs], 0.5, seed=3, counts=counts))
    assert stream[0] == "not a pair"  # other items (a dropped row) pass through untouched
    extras = [(i, item) for i, item in enumerate(stream) if isinstance(item, PreferencePair)
              and "defence" in item.metadata]
    assert extras and sum(counts.values()) == len(extras)
    for i, extra in extras:
        source = stream[i - 1]
        assert isinstance(source, PreferencePair) and extra.metadata["defence"]["source_pair"] == source.id
        assert extra.source == source.source and extra.conversation == source.conversation  # same split group
    assert [p for p in stream if isinstance(p, PreferencePair) and "defence" not in p.metadata] == pairs
