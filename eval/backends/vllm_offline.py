"""vLLM's offline engine on local GPUs: tensor parallel, prefix caching on, seeded sampling, ``max_model_len``.

Every judge request starts with the same long instructions, so automatic prefix caching computes
them once. Prompts are tokenized here with the checkpoint's own chat template (the same ids the
length check counted and the HF backend would feed) and handed to ``LLM.generate`` as token ids.
Requests go to the engine in chunks of ``chunk_size``; each chunk's results are reported, and so
cached, as soon as the chunk completes. vllm is imported only when the engine starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from eval.backends.base import Generation, OnResult, Request, Sampling
from eval.backends.chat_tokens import LocalBackend, load_failure
from eval.errors import BackendError

INSTALL_HINT = (
    "the vllm backend needs the vllm package, which is not installed here; on a GPU machine install the GPU "
    "stack (`make gpu-setup`, vllm 0.24.0), or use --backend hf or an OpenAI-compatible server with --base-url."
)


class VLLMBackend(LocalBackend):
    """``vllm.LLM`` over a local checkpoint folder."""

    name = "vllm"

    def __init__(
        self,
        ckpt: str | os.PathLike[str] | None,
        *,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        dtype: str = "auto",
        seed: int = 0,
        chunk_size: int = 1024,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        model_name: str | None = None,
    ) -> None:
        super().__init__(ckpt, max_model_len, chat_template_kwargs, model_name)
        self.tensor_parallel_size, self.gpu_memory_utilization = tensor_parallel_size, gpu_memory_utilization
        self.dtype, self.seed, self.chunk_size = dtype, seed, chunk_size
        self._llm: Any = None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "ckpt": self.ckpt.name, "tensor_parallel_size": self.tensor_parallel_size,
                "max_model_len": self.max_model_len, "gpu_memory_utilization": self.gpu_memory_utilization,
                "dtype": self.dtype, "seed": self.seed, "enable_prefix_caching": True,
                "chunk_size": self.chunk_size, "context_limit": self.context_limit(),
                "chat_template_kwargs": self.tokens.chat_template_kwargs}

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        try:
            import vllm
        except ImportError as err:
            raise BackendError(INSTALL_HINT) from err
        llm = self._engine(vllm)
        for start in range(0, len(requests), self.chunk_size):
            chunk = requests[start : start + self.chunk_size]
            prompts = [{"prompt_token_ids": self.tokens.ids(r.messages)} for r in chunk]
            params = [vllm.SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p,
                                          max_tokens=sampling.max_new_tokens, n=1,
                                          seed=None if sampling.greedy else sampling.request_seed(r.key))
                      for r in chunk]
            outputs = llm.generate(prompts, params, use_tqdm=False)
            for offset, output in enumerate(outputs):
                best = output.outputs[0]
                on_result(start + offset, Generation(
                    text=best.text, finish_reason=best.finish_reason,
                    prompt_tokens=len(prompts[offset]["prompt_token_ids"]), completion_tokens=len(best.token_ids)))

    def close(self) -> None:
        self._llm = None

    def _engine(self, vllm: Any) -> Any:
        if self._llm is None:
            try:
                self._llm = vllm.LLM(
                    model=os.fspath(self.ckpt), tokenizer=os.fspath(self.ckpt),
                    tensor_parallel_size=self.tensor_parallel_size, enable_prefix_caching=True,
                    max_model_len=self.max_model_len, gpu_memory_utilization=self.gpu_memory_utilization,
                    dtype=self.dtype, seed=self.seed,
                )
            except (RuntimeError, ValueError, OSError) as err:
                raise BackendError(f"vLLM could not start on {self.ckpt.name} ({load_failure(err)}); check the GPUs, "
                                   "--tensor-parallel-size, --max-model-len and --gpu-memory-utilization.") from err
        return self._llm
