"""A tiny Qwen2-architecture model and byte-level BPE tokenizer, built locally with no hub access.

Tests, the preflight and benchmarks use it wherever verl or transformers needs a real model or
tokenizer: the chat template is ChatML like Qwen's, `<think>`/`</think>` are added tokens that are
NOT special (as in Qwen3 and R1-Distill), so judge tags survive `decode(..., skip_special_tokens=True)`
exactly as verl decodes rollouts. Building takes well under a second; weights are random but seeded.

    python -m testkit.tiny_model OUT_DIR      # writes config, weights, tokenizer, chat template
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from infra.cli_errors import OneLineParser, run_cli

KIT_VERSION = "tiny-qwen2-v1"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK_TOKENS = ["<think>", "</think>"]
# ChatML like Qwen2.5; `enable_thinking` (Qwen3 style) opens a reasoning block in the generation prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking %}<think>\n{% endif %}"
    "{% endif %}"
)


def _corpus() -> list[str]:
    """Deterministic training text: judge vocabulary, tags and some everyday English and code."""
    tags = "<type> </type> <rubric> </rubric> <justify> </justify> <eval> </eval> <solution> </solution>"
    tags += " <quote_A> </quote_A> <summary_A> </summary_A> <quote_B> </quote_B> <summary_B> </summary_B>"
    lines = [
        tags,
        "<answer>[[A]]</answer> <answer>[[B]]</answer> Chatbot A Chatbot B Client",
        "Please act as an impartial judge and compare the two responses to the client's question.",
        "The rubric weighs accuracy 40%, helpfulness 30%, safety 20% and clarity 10%.",
        "def solve(n):\n    return sum(i * i for i in range(n))\n",
        "The derivative of x^2 is 2x, so the answer is 12. Step 1: expand. Step 2: simplify.",
        "I cannot help with that request, but here is some safer information instead.",
        "Reasoning Chat math code safety helpfulness evidence quote summary verdict final",
    ]
    return lines * 20


def build_tokenizer(vocab_size: int = 1024):
    """A byte-level BPE `PreTrainedTokenizerFast` with ChatML special tokens and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        chat_template=CHAT_TEMPLATE,
    )
    fast.add_tokens(THINK_TOKENS, special_tokens=False)
    return fast


def build_tiny_model(out_dir: str | os.PathLike[str], seed: int = 0) -> Path:
    """Write a tiny Qwen2ForCausalLM + tokenizer to ``out_dir`` (atomically) and return the path."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    tokenizer = build_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "kit.json").write_text(json.dumps({"kit_version": KIT_VERSION, "seed": seed}) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def ensure_tiny_model(cache_dir: str | os.PathLike[str], seed: int = 0) -> Path:
    """Return a built tiny model under ``cache_dir``, building it only if missing or stale."""
    out = Path(cache_dir) / f"{KIT_VERSION}-seed{seed}"
    marker = out / "kit.json"
    if marker.is_file() and json.loads(marker.read_text()).get("kit_version") == KIT_VERSION:
        return out
    return build_tiny_model(out, seed=seed)


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of the vocabulary and chat template: equal fingerprints mean equal tokenization."""
    payload = json.dumps([sorted(tokenizer.get_vocab().items()), tokenizer.chat_template], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m testkit.tiny_model", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder to write the model to (replaced if it exists)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the random weights (default 0)")
    args = parser.parse_args(argv)
    print(build_tiny_model(args.out_dir, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog="python -m testkit.tiny_model"))
