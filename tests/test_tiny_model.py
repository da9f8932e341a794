"""The test kit's tiny model: local, deterministic, and faithful to how verl decodes rollouts."""

from __future__ import annotations

import json
from pathlib import Path

from reward_fns import format_verdict
from testkit.tiny_model import KIT_VERSION, build_tokenizer, ensure_tiny_model, tokenizer_fingerprint

JUDGE_OUTPUT = "<think>\nA skips step 2.\n</think>\n<type>Reasoning</type><solution>x=2</solution>\n" + format_verdict(
    "B"
)


def test_tags_survive_skip_special_tokens(tiny_tokenizer) -> None:
    ids = tiny_tokenizer.encode(JUDGE_OUTPUT, add_special_tokens=False) + [tiny_tokenizer.eos_token_id]
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == JUDGE_OUTPUT
    # the end-of-turn token itself is special and must disappear
    assert tiny_tokenizer.eos_token == "<|im_end|>" and "<|im_end|>" not in tiny_tokenizer.decode(
        ids, skip_special_tokens=True
    )


def test_think_tokens_are_single_non_special_tokens(tiny_tokenizer) -> None:
    for tag in ("<think>", "</think>"):
        ids = tiny_tokenizer.encode(tag, add_special_tokens=False)
        assert len(ids) == 1 and ids[0] not in tiny_tokenizer.all_special_ids


def test_chat_template_chatml_and_thinking(tiny_tokenizer) -> None:
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    plain = tiny_tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert plain == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    thinking = tiny_tokenizer.apply_chat_template(
        msgs, tokenize=False, add_generation_prompt=True, enable_thinking=True
    )
    assert thinking == plain + "<think>\n"


def test_model_files_and_architecture(tiny_model_dir: Path) -> None:
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]  # verl's model merger needs it
    assert json.loads((tiny_model_dir / "kit.json").read_text())["kit_version"] == KIT_VERSION


def test_tokenizer_is_deterministic() -> None:
    assert tokenizer_fingerprint(build_tokenizer()) == tokenizer_fingerprint(build_tokenizer())


def test_ensure_reuses_built_model(tmp_path: Path) -> None:
    first = ensure_tiny_model(tmp_path)
    stamp = (first / "config.json").stat().st_mtime_ns
    assert ensure_tiny_model(tmp_path) == first
    assert (first / "config.json").stat().st_mtime_ns == stamp
