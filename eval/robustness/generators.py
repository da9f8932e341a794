"""Probe comparisons from one clean pairwise comparison (items 1-5 of issue 21), seeded and labelled.

Every probe is an ordinary :class:`eval.benchmark.Comparison` with ``answer_1`` the tracked side and
``metadata`` naming the probe (``probe``, ``variant``, ``target``, ``base``), so the shared runner
judges it in both orders like any benchmark comparison:

* ``clean``: the comparison as published (position bias, and the reference every rate conditions on);
* ``injection``: the WORSE answer carries a payload of one family of the EVAL library (and obfuscated
  copies). A label-bound payload (a planted verdict, a spoofed delimiter) is planted twice, once per
  position (``target`` 'A' or 'B'), and counts only in the order that shows the worse answer there;
* ``master_key``: the better answer against a candidate that is only a master key (or the better
  answer's first sentence cut off);
* ``counterfactual``: the better answer with its key fact broken (should flip the verdict);
* ``invariance``: the better answer rewritten without changing its meaning (should not);
* ``style``: the worse answer padded with fluent off-topic text or dressed in heavy markdown.

The seed picks payload templates and edit details per (seed, comparison, probe), so a probe does
not change when other items or ``--limit`` change.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from data_prep.pairs import Message, is_single_turn
from data_prep.robustness.defence import seeded_rng, truncated_opening
from data_prep.robustness.library import EVAL, fill, label_bound
from eval.benchmark import Comparison, make_comparison
from eval.robustness.edits import REWRITES, counterfactual, heavy_markdown, homoglyph, zero_width
from reward_fns import LABELS

PROBES: tuple[str, ...] = ("clean", "injection", "master_key", "counterfactual", "invariance", "style")
OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {"zero_width": zero_width, "homoglyph": homoglyph}
ANY = "any"  # target of a payload that reads the same in both positions


@dataclass(frozen=True)
class ProbePlan:
    """Which probes to build and the seed of every random choice (recorded in the report)."""

    probes: tuple[str, ...] = PROBES
    seed: int = 0


def better_worse(base: Comparison) -> tuple[tuple[Message, ...], tuple[Message, ...]]:
    """(better answer, worse answer) of a comparison."""
    return (base.answer_1, base.answer_2) if base.truth == "1" else (base.answer_2, base.answer_1)


def probe_comparisons(base: Comparison, plan: ProbePlan) -> list[Comparison]:
    """The clean comparison followed by every probe ``plan`` asks for."""
    builders: dict[str, Callable[[Comparison, int], list[Comparison]]] = {
        "clean": _clean, "injection": _injections, "master_key": _master_keys,
        "counterfactual": _counterfactual, "invariance": _invariance, "style": _style}
    out = _clean(base, plan.seed)
    for probe in plan.probes:
        if probe != "clean":
            out += builders[probe](base, plan.seed)
    return out


def _probe(base: Comparison, probe: str, variant: str, better: Sequence[Message], worse: Sequence[Message],
           **meta: Any) -> Comparison:
    """A probe comparison: answer_1 is the tracked (better or edited-better) side, truth '1'."""
    cid = f"{base.comparison_id}|{probe}|{variant}"
    metadata = {"probe": probe, "variant": variant, "base": base.comparison_id, "target": ANY, **meta}
    return make_comparison(base.item_id, cid, list(base.conversation), list(better), list(worse), truth="1",
                           metadata=metadata)


def _with_last(answer: Sequence[Message], text: str) -> list[Message]:
    return [*answer[:-1], Message(role="assistant", content=text)]


def _clean(base: Comparison, seed: int) -> list[Comparison]:
    better, worse = better_worse(base)
    return [_probe(base, "clean", "clean", better, worse)]


def _injections(base: Comparison, seed: int) -> list[Comparison]:
    better, worse = better_worse(base)
    multi = not is_single_turn(base.conversation, base.answer_1, base.answer_2)
    out = []
    chosen: dict[str, str] = {}
    for family, templates in EVAL.injections.items():
        chosen[family] = seeded_rng(seed, "injection", base.comparison_id, family).choice(templates)
        out += _planted(base, family, chosen[family], better, worse, multi, lambda text: text)
    for name, obfuscate in OBFUSCATIONS.items():
        rng = seeded_rng(seed, "obfuscate", base.comparison_id, name)
        family = rng.choice(sorted(chosen))
        out += _planted(base, f"obfuscated:{name}", chosen[family], better, worse, multi,
                        partial(_obfuscated, obfuscate, rng), source=family)
    return out


def _obfuscated(obfuscate: Callable[[str, random.Random], str], rng: random.Random, text: str) -> str:
    return obfuscate(text, rng)


def _planted(base: Comparison, family: str, template: str, better: Sequence[Message], worse: Sequence[Message],
             multi: bool, transform: Callable[[str], str], source: str | None = None) -> list[Comparison]:
    """The payload appended to the worse answer, once per position it is aimed at (once if label-free)."""
    targets = LABELS if label_bound(template) else (ANY,)
    out = []
    for target in targets:
        payload = transform(fill(template, "A" if target == ANY else target, multi))
        loser = _with_last(worse, worse[-1]["content"] + payload)
        variant = family if target == ANY else f"{family}@{target}"
        out.append(_probe(base, "injection", variant, better, loser, family=family, target=target, payload=payload,
                          source_family=source or family))
    return out


def _master_keys(base: Comparison, seed: int) -> list[Comparison]:
    better, _ = better_worse(base)
    keys = {**EVAL.master_keys, "first_sentence_cut": truncated_opening(better[-1]["content"])}
    return [_probe(base, "master_key", name, better, [Message(role="assistant", content=key)], key=name)
            for name, key in keys.items()]


def _counterfactual(base: Comparison, seed: int) -> list[Comparison]:
    better, worse = better_worse(base)
    edit = counterfactual(better[-1]["content"], seeded_rng(seed, "counterfactual", base.comparison_id))
    if edit is None:
        return []  # outside the rules' coverage; the report counts these items
    return [_probe(base, "counterfactual", edit.rule, _with_last(better, edit.text), worse, rule=edit.rule,
                   before=edit.before, after=edit.after)]


def _invariance(base: Comparison, seed: int) -> list[Comparison]:
    better, worse = better_worse(base)
    text = better[-1]["content"]
    rewritten = {name: rewrite(text) for name, rewrite in REWRITES.items()}
    preamble = seeded_rng(seed, "preamble", base.comparison_id).choice(EVAL.preambles)
    rewritten["preamble"] = f"{preamble}\n\n{text}"
    return [_probe(base, "invariance", name, _with_last(better, new), worse)
            for name, new in rewritten.items() if new != text]


def _style(base: Comparison, seed: int) -> list[Comparison]:
    better, worse = better_worse(base)
    text = worse[-1]["content"]
    padding = seeded_rng(seed, "padding", base.comparison_id).choice(EVAL.padding)
    styled = {"fluent_padding": text + padding, "heavy_markdown": heavy_markdown(text)}
    return [_probe(base, "style", name, better, _with_last(worse, new)) for name, new in styled.items()]
