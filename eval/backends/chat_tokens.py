"""What the two local backends (HF, vLLM) share: the checkpoint folder, its identity and its chat tokenizer.

Both tokenize here, with the checkpoint's own chat template, so the length check and the prompt the
model sees are the same token ids, and the two backends see identical prompts for one checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from data_prep.length_filter import TokenizerError, load_tokenizer, token_ids
from eval.backends.base import Messages
from eval.errors import EvalError
from infra.checkpoint_id import checkpoint_fingerprint

_MEMO_SIZE = 4096


class ChatTokenizer:
    """Loads the tokenizer lazily; ``ids(messages)`` is the generation prompt's token ids."""

    def __init__(self, path: str | os.PathLike[str], chat_template_kwargs: Mapping[str, Any] | None = None) -> None:
        self.path = os.fspath(path)
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._tokenizer: Any = None
        self._memo: dict[tuple[tuple[str, str], ...], list[int]] = {}  # the length check and generation share ids

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            try:
                self._tokenizer = load_tokenizer(self.path)
            except TokenizerError as err:
                raise EvalError(str(err)) from err
        return self._tokenizer

    def ids(self, messages: Messages) -> list[int]:
        """Token ids of the chat-templated prompt, generation prompt included.

        A last message from the assistant is a prefix the model continues (the robustness suite feeds a
        judge its own reasoning back this way), not a finished turn.
        """
        key = tuple((m["role"], m["content"]) for m in messages)
        found = self._memo.get(key)
        if found is None:
            prefix = bool(messages) and messages[-1]["role"] == "assistant"
            encoded = self.tokenizer.apply_chat_template(
                [dict(m) for m in messages], add_generation_prompt=not prefix, continue_final_message=prefix,
                tokenize=True, **self.chat_template_kwargs
            )
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            found = self._memo[key] = token_ids(encoded)
        return found


def config_context_length(path: str | os.PathLike[str]) -> int | None:
    """``max_position_embeddings`` (or the like) from a checkpoint's config.json, if it states one."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return None
    data = json.loads(config.read_text(encoding="utf-8"))
    data = data.get("text_config", data)  # multimodal configs nest the language model's settings
    for key in ("max_position_embeddings", "max_sequence_length", "seq_length", "n_positions"):
        if isinstance(data.get(key), int):
            return int(data[key])
    return None


class LocalBackend:
    """A backend over a local checkpoint folder: its tokenizer, context limit and content-derived identity."""

    name: str

    def __init__(self, ckpt: str | os.PathLike[str] | None, max_model_len: int | None,
                 chat_template_kwargs: Mapping[str, Any] | None, model_name: str | None) -> None:
        if ckpt is None:
            raise EvalError("a local backend needs --ckpt; pass the Hugging Face model folder to evaluate.")
        self.ckpt = Path(ckpt)
        if not (self.ckpt / "config.json").is_file():
            raise EvalError(f"--ckpt {os.fspath(ckpt)!r} is not a model folder with a config.json; pass a local HF "
                            "folder.")
        self.max_model_len = max_model_len
        self.tokens = ChatTokenizer(self.ckpt, chat_template_kwargs)
        self._limit = max_model_len or config_context_length(self.ckpt)
        # The content fingerprint always (a name alone would let two checkpoints share cache keys and reports),
        # and the engine's name: two engines' greedy texts can differ, and a report says which one wrote them.
        named = f"{model_name}@" if model_name else ""
        self._model_id = f"{self.name}:{named}ckpt-{checkpoint_fingerprint(self.ckpt)[:24]}"

    @property
    def model_id(self) -> str:
        return self._model_id

    def context_limit(self) -> int | None:
        return self._limit

    def prompt_tokens(self, messages: Messages) -> int | None:
        return len(self.tokens.ids(messages))


def load_failure(err: BaseException) -> str:
    """The first line of why a model or engine failed to load (at most 200 characters), or the error's type."""
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__
