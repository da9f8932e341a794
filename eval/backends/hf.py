"""Hugging Face transformers backend: a local checkpoint on the CPU or one GPU.

Requests are generated in batches of ``batch_size`` with left padding, longest prompts first (fewer
pad tokens). Greedy by default; with sampling, each batch seeds torch from the run seed and the
batch's first cache key. Batched greedy decoding on a GPU can differ in the last bits from
unbatched decoding; ``batch_size=1`` makes every request independent of its neighbours.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from eval.backends.base import Generation, Messages, OnResult, Request, Sampling
from eval.backends.chat_tokens import LocalBackend, load_failure
from eval.errors import BackendError, EvalError

DTYPES = ("auto", "float32", "bfloat16", "float16")


class HFBackend(LocalBackend):
    """transformers ``generate`` over a local checkpoint folder."""

    name = "hf"

    def __init__(
        self,
        ckpt: str | os.PathLike[str] | None,
        *,
        device: str = "cpu",
        dtype: str = "auto",
        batch_size: int = 4,
        max_model_len: int | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        model_name: str | None = None,
    ) -> None:
        super().__init__(ckpt, max_model_len, chat_template_kwargs, model_name)
        if dtype not in DTYPES:
            raise EvalError(f"--dtype {dtype!r} is not one of {DTYPES}; pick one of them.")
        self.device, self.dtype, self.batch_size = device, dtype, batch_size
        self._model: Any = None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "ckpt": self.ckpt.name, "device": self.device, "dtype": self.dtype,
                "batch_size": self.batch_size, "context_limit": self._limit,
                "chat_template_kwargs": self.tokens.chat_template_kwargs}

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        import torch

        model, tokenizer = self._load(), self.tokens.tokenizer
        prompts = [self.tokens.ids(r.messages) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: (-len(prompts[i]), i))
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        eos = _eos_ids(model, tokenizer)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(prompts[i]) for i in batch)
            ids = torch.tensor([[pad] * (width - len(prompts[i])) + prompts[i] for i in batch])
            mask = torch.tensor([[0] * (width - len(prompts[i])) + [1] * len(prompts[i]) for i in batch])
            kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens, "pad_token_id": pad,
                                      "eos_token_id": eos, "do_sample": not sampling.greedy}
            if not sampling.greedy:
                kwargs |= {"temperature": sampling.temperature, "top_p": sampling.top_p}
                torch.manual_seed(sampling.request_seed(requests[batch[0]].key))
            with torch.inference_mode():
                out = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), **kwargs)
            for row, index in enumerate(batch):
                new = out[row, width:].tolist()
                on_result(index, _generation(new, eos, tokenizer, len(prompts[index])))

    def label_logprobs(self, prompts: Sequence[Messages], labels: Sequence[str]) -> list[dict[str, float]]:
        """Each label's next-token log-probability after each prompt (a last assistant message is continued).

        One forward pass per prompt, uncached: the robustness suite's NLDD-style intervention reads the
        verdict-label margin after a prefix that ends where the label goes.
        """
        import torch

        model, tokenizer = self._load(), self.tokens.tokenizer
        first = {label: tokenizer.encode(label, add_special_tokens=False)[0] for label in labels}
        out = []
        for messages in prompts:
            ids = torch.tensor([self.tokens.ids(messages)], device=model.device)
            with torch.inference_mode():
                logprobs = torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)
            out.append({label: float(logprobs[token]) for label, token in first.items()})
        return out

    def close(self) -> None:
        self._model = None

    def _load(self) -> Any:
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM

            dtype = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
            try:
                model = AutoModelForCausalLM.from_pretrained(self.ckpt, dtype=dtype)
                self._model = model.to(self.device).eval()
            except (OSError, ValueError, RuntimeError) as err:
                raise BackendError(f"transformers could not load {self.ckpt.name} on {self.device} "
                                   f"({load_failure(err)}); check --ckpt, --device and --dtype.") from err
        return self._model


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured] if configured is not None else []
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def _generation(new: list[int], eos: list[int], tokenizer: Any, prompt_len: int) -> Generation:
    # A row that stopped early is followed by padding; a row without an end token used the whole budget.
    stop = next((i for i, tok in enumerate(new) if tok in eos), None)
    kept = new if stop is None else new[:stop]
    text = tokenizer.decode(kept, skip_special_tokens=True)
    return Generation(text=text, finish_reason="length" if stop is None else "stop", prompt_tokens=prompt_len,
                      completion_tokens=len(kept) + (stop is not None))
