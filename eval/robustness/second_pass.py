"""From the judged probes to the text-based measures: grounding, consistency and the intervention requests.

Reads each judgment's raw text from the generation cache by its key (the cache's public ``get``),
and sends the intervention requests through the shared runner (:func:`eval.runner.run_judgments`),
so they are cached and resumed like every other judge request. A request whose last message is the
assistant's is a prefix the model continues: the local backends' chat templating does so, and the
OpenAI-compatible backend sends vLLM's and SGLang's ``continue_final_message`` (a server without it
rejects the requests, which are then counted as failures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from data_prep.pairs import Message
from data_prep.prompts import PromptTemplate, render_judge_prompt
from data_prep.robustness.defence import seeded_rng
from eval.backends.base import Backend, Messages, Sampling
from eval.cache import GenerationCache, RequestKeyer
from eval.robustness.faithfulness import (
    CORRUPTIONS,
    Reading,
    consistency,
    corrupt,
    grounding,
    intervention_label,
    intervention_rates,
    margin,
    nldd_rows,
    verdict_prefix,
)
from eval.robustness.suite import ProbeSink, reading
from eval.runner import Judgment, run_judgments
from reward_fns import LABELS

VERDICT_TOKENS = 16  # the prefix ends where the label goes: a label and a closing tag are all that is left


def clean_readings(sink: ProbeSink, mode: str, cache: GenerationCache) -> list[Reading]:
    """The clean comparisons' judgments with their raw texts (skipped requests have none and are left out)."""
    out = []
    for comparison, tag, key, label in sink.keys(mode):
        hit = cache.get(key)
        if comparison.metadata["probe"] == "clean" and hit is not None:
            out.append(reading(comparison, tag, hit.text, label))
    return out


def text_measures(readings: list[Reading]) -> dict[str, Any]:
    return {"grounding": grounding(readings), "consistency": consistency(readings)}


def intervention(sink: ProbeSink, mode: str, cache: GenerationCache, backend: Backend, template: PromptTemplate,
                 sampling: Sampling, request_options: Mapping[str, Any], seed: int,
                 progress: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """Flip rows and NLDD rows per corruption, and a note saying how they were measured."""
    short = replace(sampling, max_new_tokens=min(sampling.max_new_tokens, VERDICT_TOKENS))
    keyer = RequestKeyer(template.version, backend.model_id, short.cache_fields(), request_options)
    jobs = []
    for comparison, tag, key, label in sink.keys(mode):
        hit = cache.get(key)
        if comparison.metadata["probe"] != "clean" or label is None or hit is None:
            continue
        for how in CORRUPTIONS:
            prefix = corrupt(hit.text, how, seeded_rng(seed, "intervention", comparison.comparison_id, tag, how))
            if prefix is None:
                continue
            shown_a, shown_b = comparison.shown(tag)
            messages = [*render_judge_prompt(template, comparison.conversation, shown_a, shown_b),
                        Message(role="assistant", content=prefix)]
            judgment = Judgment(comparison.comparison_id, f"{tag}:{how}", keyer.key(messages), messages)
            clean = [*messages[:-1], Message(role="assistant", content=verdict_prefix(hit.text) or "")]
            jobs.append((str(comparison.metadata["base"]), how, label, prefix, judgment, clean))
    if not jobs:
        return [], [], "No judgment had a verdict after Chain-of-Rubrics evidence to corrupt."
    outcomes, _ = run_judgments([job[-2] for job in jobs], backend, cache, short, prompt_version=template.version,
                                progress=progress, benchmark="robustness-intervention")
    results = [(base, how, label, intervention_label(prefix, outcomes[j.key].text, mode))
               for base, how, label, prefix, j, _ in jobs]
    note = ("The judge's own text up to its verdict label, evidence corrupted, fed back as an assistant prefix; "
            f"{len(jobs)} requests; flip rates.")
    if not isinstance(backend, LabelScorer):
        note += f" No NLDD: the {backend.name} backend returns no log-probabilities (the hf backend does)."
        return intervention_rates(results), [], note
    return intervention_rates(results), nldd(backend, jobs), note


@runtime_checkable
class LabelScorer(Protocol):
    """A backend that can score the verdict label after a prefix (the hf backend)."""

    def label_logprobs(self, prompts: Sequence[Messages], labels: Sequence[str]) -> list[dict[str, float]]: ...


def nldd(backend: LabelScorer, jobs: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """NLDD rows from the clean and the corrupted prefix of every intervention job."""
    prompts = [message for *_, judgment, clean in jobs for message in (clean, judgment.messages)]
    scores = backend.label_logprobs(prompts, LABELS)
    changes = [(how, margin(scores[2 * i], label), margin(scores[2 * i + 1], label))
               for i, (_, how, label, *_) in enumerate(jobs)]
    return nldd_rows(changes)
