"""Which judge prompt to render with: ``--prompt-template FILE``, ``--variant``, or the checkpoint's model card.

Never from the checkpoint's path (upstream RM-R1 guessed the model type from a substring of it).

The model card is the checkpoint folder's ``README.md`` (the Hugging Face model card), whose YAML
front matter may carry::

    ---
    rm_r1:
      prompt_variant: instruct      # or reasoning
      prompt_version: cor-v1        # the data_prep.prompts.PROMPT_VERSION it was trained with
    ---

A card naming another prompt version than the built-in one is an error (pass the template that
checkpoint was trained on with ``--prompt-template``), so a released model is never silently judged
with a prompt it did not learn.

The prompt also sets the default generation budget (:attr:`PromptChoice.budget`): reasoning judges think at
length, and a budget that cuts them off turns a judgment into a parse failure; a template file gets
upstream RM-R1's evaluation budget, which it used for every released checkpoint.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from data_prep.prompts import PROMPT_VERSION, VARIANTS, PromptTemplate, TemplateError, builtin_template, load_template
from eval.errors import EvalError
from infra.model_card import read_block

BUDGETS: dict[str, int] = {"instruct": 8192, "reasoning": 50_000}
TEMPLATE_FILE_BUDGET = 50_000


@dataclass(frozen=True)
class PromptChoice:
    """The template to render with and where the choice came from (for the report)."""

    template: PromptTemplate
    source: str  # "--prompt-template", "--variant" or "model card"
    variant: str | None

    @property
    def budget(self) -> tuple[int, str]:
        """The default generation budget and where it comes from (for the report)."""
        if self.variant is not None and self.variant in BUDGETS:
            return BUDGETS[self.variant], f"default for the {self.variant} variant"
        return TEMPLATE_FILE_BUDGET, "default for a --prompt-template file (upstream's evaluation budget)"


def choose_prompt(variant: str | None, template_file: str | None, ckpt: str | os.PathLike[str] | None) -> PromptChoice:
    """Resolve the judge prompt from the flags and the model card, with one-sentence errors."""
    if variant is not None and template_file is not None:
        raise EvalError("pass either --variant or --prompt-template, not both; a template file defines the prompt.")
    try:
        if template_file is not None:
            return PromptChoice(load_template(template_file), "--prompt-template", None)
        card = {} if ckpt is None else read_block(Path(ckpt))  # the model card's one codec (infra/model_card.py)
        card_variant = card.get("prompt_variant")
        if variant is not None:
            if card_variant is not None and card_variant != variant:
                print(f"warning: --variant {variant} overrides the model card's prompt_variant {card_variant}",
                      file=sys.stderr)
            return PromptChoice(builtin_template(variant), "--variant", variant)
        if card_variant is None and ckpt is not None and not Path(ckpt).is_dir():
            raise EvalError(f"--ckpt {os.fspath(ckpt)!r} is not a model folder, so no model card names its prompt; "
                            "pass a local HF folder (python -m launch.export writes one).")
        if card_variant is None:
            raise EvalError("cannot tell which prompt this judge expects (no --variant and no rm_r1.prompt_variant "
                            f"in the model card); pass --variant {' or --variant '.join(VARIANTS)}.")
        card_version = card.get("prompt_version", PROMPT_VERSION)
        if card_version != PROMPT_VERSION:
            raise EvalError(f"the model card says prompt_version {card_version!r} but this code ships "
                            f"{PROMPT_VERSION!r}; pass the template it was trained on with --prompt-template FILE.")
        return PromptChoice(builtin_template(str(card_variant)), "model card", str(card_variant))
    except TemplateError as err:
        raise EvalError(str(err)) from err
