"""The batched length filter counts exactly what apply_chat_template(tokenize=True) counts, chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_prep.length_filter import PromptLengthFilter, batch_encoder
from data_prep.prompts import builtin_template
from testkit.verl_datasets import longest_prompt, sample_pairs


@pytest.fixture(scope="module")
def pairs() -> list:
    return sample_pairs()


@pytest.mark.parametrize(
    ("variant", "kwargs", "chunk"),
    [
        ("instruct", {}, 4),  # system + user prompt, several chunks
        ("reasoning", {}, 1000),  # one user message, one chunk holding everything
        ("instruct", {"enable_thinking": True}, 1),  # template kwargs change the generation prompt; one pair a chunk
        ("reasoning", {"enable_thinking": True}, 7),  # a last chunk that is not full
    ],
)
def test_batched_lengths_equal_one_by_one(tiny_tokenizer, pairs, variant: str, kwargs: dict, chunk: int) -> None:
    measure = PromptLengthFilter(tiny_tokenizer, 10**6, kwargs)
    template = builtin_template(variant)
    batched = [n for i in range(0, len(pairs), chunk) for n in measure.longest_of_chunk(pairs[i:i + chunk], template)]
    assert batched == [longest_prompt(tiny_tokenizer, p, template, kwargs) for p in pairs]


def test_the_encoder_ignores_truncation_left_on_the_tokenizer(tiny_model_dir: Path, pairs) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    texts = PromptLengthFilter(tokenizer, 10).render_texts(pairs[:3], builtin_template("instruct"))
    tokenizer.backend_tokenizer.enable_truncation(5)  # e.g. a tokenizer.json saved with truncation on
    ours = batch_encoder(tokenizer)(texts)
    assert ours == [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert min(ours) > 5


def test_no_pairs(tiny_tokenizer) -> None:
    assert PromptLengthFilter(tiny_tokenizer, 10).longest_of_chunk([], builtin_template("instruct")) == []
