"""Generation budgets (``max_new_tokens``) per prompt variant, used when ``--max-new-tokens`` is not given.

Reasoning judges think at length before the verdict: a budget that cuts them off turns a judgment
into a parse failure, so the budget is part of the protocol and every report states it and counts
the judgments that hit it (``finish_reason == "length"``: "truncated at the token limit").

* ``instruct`` (Qwen2.5-Instruct style, Chain-of-Rubrics without a thinking phase): 8,192.
* ``reasoning`` (R1-distilled, ``<think>`` first): 50,000, upstream RM-R1's evaluation budget.
* a ``--prompt-template FILE`` (a released checkpoint's own prompt): 50,000 as well, since upstream
  evaluated every released checkpoint with it; pass ``--max-new-tokens`` to choose another.

The context must hold prompt + budget (``--max-model-len``); requests that do not fit are skipped and
counted, never truncated.
"""

from __future__ import annotations

import argparse

from eval.judge_prompt import PromptChoice

BUDGETS: dict[str, int] = {"instruct": 8192, "reasoning": 50_000}
TEMPLATE_FILE_BUDGET = 50_000


def budget_for(prompt: PromptChoice) -> tuple[int, str]:
    """The default budget for a prompt choice and where it comes from (for the report)."""
    if prompt.variant is not None and prompt.variant in BUDGETS:
        return BUDGETS[prompt.variant], f"default for the {prompt.variant} variant"
    return TEMPLATE_FILE_BUDGET, "default for a --prompt-template file (upstream's evaluation budget)"


def apply_budget(args: argparse.Namespace, prompt: PromptChoice) -> str:
    """Fill ``args.max_new_tokens`` from the variant when the flag was not given; returns its source."""
    if args.max_new_tokens is not None:
        return "--max-new-tokens"
    args.max_new_tokens, source = budget_for(prompt)
    return source
