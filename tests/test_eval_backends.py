"""Local backends: transformers end to end with the tiny model; vLLM's glue against a stand-in module.

The tiny model has random weights, so its judgments are garbage: these tests assert that the pipeline
runs and that every judgment is accounted for, never a score.
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from data_prep.prompts import builtin_template
from eval import rewardbench
from eval.backends.base import Generation, Request, Sampling
from eval.backends.chat_tokens import ChatTokenizer
from eval.backends.vllm_offline import VLLMBackend
from eval.errors import BackendError
from infra.checkpoint_id import checkpoint_fingerprint

FIXTURE = str(Path(__file__).resolve().parents[1] / "preflight" / "samples" / "rewardbench_sample.jsonl")


def _hf_argv(model: Path, out: Path, *extra: str) -> list[str]:
    return ["--ckpt", str(model), "--backend", "hf", "--device", "cpu", "--variant", "instruct", "--data", FIXTURE,
            "--limit", "4", "--max-new-tokens", "4", "--batch-size", "4", "--out", str(out), "--no-progress",
            "--no-plots", *extra]


def test_transformers_backend_end_to_end_accounts_for_every_judgment(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert rewardbench.main(_hf_argv(tiny_model_dir, tmp_path)) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    failures, volatile = summary["failures"], summary["metadata"]["volatile"]
    assert summary["metadata"]["counts"] == {"items": 4, "total_items": 23, "judgments": 8, "unique_requests": 8,
                                             "skipped_overlong": 0, "rejected": 0}
    assert failures["generated"] == 8 and volatile["generated"] == 8 and volatile["longest_prompt_tokens"] > 0
    judgments = [j for line in (tmp_path / "items.jsonl").read_text().splitlines()
                 for j in json.loads(line)["judgments"]]
    assert len(judgments) == 8
    for mode in ("strict", "lenient"):  # each judgment has exactly one of a label and a failure reason
        assert all((j[mode]["label"] is None) != (j[mode]["failure"] is None) for j in judgments)
        assert sum(j[mode]["label"] is None for j in judgments) == failures[mode]["parse_failures"]
    assert summary["metadata"]["model"].startswith("hf:ckpt-")
    assert len((tmp_path / "generations.jsonl").read_text().splitlines()) == 8
    assert rewardbench.main(_hf_argv(tiny_model_dir, tmp_path)) == 0  # rerun: everything cached, no model load
    again = json.loads((tmp_path / "summary.json").read_text())
    assert again["metadata"]["volatile"]["generated"] == 0 and again["scores"] == summary["scores"]


def test_over_long_prompts_are_skipped_and_counted_never_truncated(tiny_model_dir: Path, tmp_path: Path) -> None:
    # The instruct prompt is over 1,000 tiny-tokenizer tokens: a 600-token context fits none of them.
    assert rewardbench.main(_hf_argv(tiny_model_dir, tmp_path, "--max-model-len", "600", "--limit", "2")) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failures"]["skipped"] == {"skipped_overlong": 4} and summary["failures"]["generated"] == 0
    assert summary["metadata"]["counts"]["skipped_overlong"] == 4 and summary["score"] is None  # 2 sections only
    assert not (tmp_path / "generations.jsonl").exists()  # nothing was generated, so nothing cached
    assert "skipped_overlong 4" in (tmp_path / "report.md").read_text()


def test_the_fingerprint_follows_content_not_the_folder(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "elsewhere"))
    assert checkpoint_fingerprint(copy) == checkpoint_fingerprint(tiny_model_dir)
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one changed byte at the end of the weights (always inside a sampled block)
    weights.write_bytes(bytes(data))
    assert checkpoint_fingerprint(copy) != checkpoint_fingerprint(tiny_model_dir)


class _FakeVLLM:
    """Stand-in for the vllm module: records the engine and sampling arguments, echoes the prompt length."""

    def __init__(self) -> None:
        self.engine_kwargs: dict[str, Any] = {}
        self.calls: list[tuple[list[dict], list[Any]]] = []
        fake = self

        class LLM:
            def __init__(self, **kwargs: Any) -> None:
                fake.engine_kwargs = kwargs

            def generate(self, prompts: list[dict], params: list[Any], use_tqdm: bool = True) -> list[Any]:
                fake.calls.append((prompts, params))
                return [types.SimpleNamespace(outputs=[types.SimpleNamespace(
                    text=f"len {len(p['prompt_token_ids'])} <answer>[[A]]</answer>", finish_reason="stop",
                    token_ids=[1, 2, 3])]) for p in prompts]

        self.LLM = LLM
        self.SamplingParams = lambda **kwargs: types.SimpleNamespace(**kwargs)


def test_vllm_backend_glue(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", fake)
    backend = VLLMBackend(tiny_model_dir, tensor_parallel_size=2, max_model_len=4096, seed=5, chunk_size=2)
    template = builtin_template("instruct")
    from data_prep.pairs import make_pair
    from data_prep.prompts import render_pair

    messages = [render_pair(template, make_pair("t", f"q{i}", "a", "b"), "A") for i in range(3)]
    requests = [Request(m, f"key{i}") for i, m in enumerate(messages)]
    results: dict[int, Generation] = {}
    backend.generate(requests, Sampling(temperature=0.7, max_new_tokens=32, seed=5), results.__setitem__)
    kwargs = fake.engine_kwargs
    assert (kwargs["enable_prefix_caching"], kwargs["tensor_parallel_size"], kwargs["max_model_len"],
            kwargs["seed"]) == (True, 2, 4096, 5)
    assert [len(prompts) for prompts, _ in fake.calls] == [2, 1]  # chunks of chunk_size, each cached on return
    ids = ChatTokenizer(tiny_model_dir).ids(messages[2])
    assert fake.calls[1][0][0]["prompt_token_ids"] == ids  # the checkpoint's own chat template, as token ids
    seeds = [p.seed for _, params in fake.calls for p in params]
    assert len(set(seeds)) == 3 and seeds == [Sampling(seed=5).request_seed(f"key{i}") for i in range(3)]
    assert results[2] == Generation(f"len {len(ids)} <answer>[[A]]</answer>", "stop", len(ids), 3)
    backend.generate(requests[:1], Sampling(max_new_tokens=8), results.__setitem__)
    assert fake.calls[-1][1][0].seed is None and fake.calls[-1][1][0].temperature == 0.0  # greedy: no seed
    assert backend.model_id.startswith("vllm:ckpt-")  # never shares generations with the hf backend


def test_vllm_missing_is_one_clear_sentence(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError, as on a CPU box
    with pytest.raises(BackendError, match="needs the vllm package"):
        VLLMBackend(tiny_model_dir).generate([Request([{"role": "user", "content": "x"}], "k")], Sampling(),
                                             lambda i, g: None)
    argv = ["--ckpt", str(tiny_model_dir), "--backend", "vllm", "--variant", "instruct", "--data", FIXTURE,
            "--limit", "1", "--out", str(tmp_path), "--no-progress", "--no-plots"]
    assert rewardbench.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("python eval/rewardbench.py: error: the vllm backend needs the vllm package")
    assert len(err.splitlines()) == 1
