"""Drop pairs whose judge prompt is longer than the trainer's ``data.max_prompt_length``.

Lengths are counted exactly as verl's ``RLHFDataset`` counts them when ``filter_overlong_prompts`` is
on: ``apply_chat_template(messages, add_generation_prompt=True, tokenize=True, **chat_template_kwargs)``.
A pair is kept only if BOTH A/B orders fit, so filtering happens before placement and cannot upset
the A/B balance, and verl's own filter then drops nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.pairs import Message, PreferencePair
from data_prep.prompts import PromptTemplate, render_pair
from reward_fns import LABELS


class TokenizerError(ValueError):
    """The tokenizer cannot be loaded or used; the message names it and the fix."""


def load_tokenizer(name_or_path: str) -> Any:
    """A Hugging Face tokenizer from a local folder, or a hub name already in the local cache.

    Never downloads: data prep must not reach the network behind the user's back.
    """
    from transformers import AutoTokenizer

    local = Path(name_or_path).is_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=not local)
    except (OSError, ValueError) as err:
        raise TokenizerError(
            f"tokenizer {name_or_path!r} is neither a model folder nor in the local hub cache; pass a folder "
            f"holding the tokenizer files (or fetch it first: huggingface-cli download {name_or_path})."
        ) from err
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError(f"tokenizer {name_or_path!r} has no chat template; use the judge model's own tokenizer.")
    return tokenizer


def token_ids(value: Any) -> list[int]:
    """Token ids from whatever ``apply_chat_template(tokenize=True)`` returns in this transformers."""
    ids = value["input_ids"] if isinstance(value, Mapping) or hasattr(value, "input_ids") else value
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if len(ids) == 1 and isinstance(ids[0], list | tuple):
        ids = ids[0]
    return [int(i) for i in ids]


class PromptLengthFilter:
    """Measures rendered judge prompts in tokens and keeps the pairs that fit."""

    def __init__(self, tokenizer: Any, max_prompt_length: int, chat_template_kwargs: Mapping[str, Any] | None = None):
        if max_prompt_length <= 0:
            raise ValueError(f"max_prompt_length {max_prompt_length} must be a positive number of tokens.")
        self.tokenizer = tokenizer
        self.max_prompt_length = max_prompt_length
        self.chat_template_kwargs = dict(chat_template_kwargs or {})

    def prompt_length(self, messages: Sequence[Message]) -> int:
        """Tokens in the prompt the trainer builds from ``messages`` (generation prompt included)."""
        encoded = self.tokenizer.apply_chat_template(
            [dict(m) for m in messages], add_generation_prompt=True, tokenize=True, **self.chat_template_kwargs
        )
        return len(token_ids(encoded))

    def longest(self, pair: PreferencePair, template: PromptTemplate) -> int:
        """The longer of the pair's two renderings (chosen as A, chosen as B)."""
        return max(self.prompt_length(render_pair(template, pair, label)) for label in LABELS)

    def fits(self, pair: PreferencePair, template: PromptTemplate) -> bool:
        """True if both orders fit within ``max_prompt_length``."""
        return self.longest(pair, template) <= self.max_prompt_length
