"""The generation cache: what its key depends on, reload, torn last lines, damaged lines, the single-writer lock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.cache import CachedGeneration, GenerationCache, RequestKeyer
from eval.errors import EvalError


def request_key(messages: list[dict[str, str]], prompt_version: str, model_id: str, sampling: dict[str, Any],
                request_options: dict[str, Any] | None = None) -> str:
    """One request's cache key, as the runner computes it."""
    return RequestKeyer(prompt_version, model_id, sampling, request_options).key(messages)


MESSAGES = [{"role": "system", "content": "judge"}, {"role": "user", "content": "A or B?"}]
SAMPLING = {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 64}
BASE = request_key(MESSAGES, "cor-v1", "hf-ckpt:abc", SAMPLING)


@pytest.mark.parametrize(
    ("changed", "same_key"),
    [
        (request_key(list(MESSAGES), "cor-v1", "hf-ckpt:abc", dict(SAMPLING)), True),  # equal content: same key
        (request_key([MESSAGES[0], {"role": "user", "content": "B or A?"}], "cor-v1", "hf-ckpt:abc", SAMPLING),
         False),  # other item or other A/B order: the rendered messages differ
        (request_key(MESSAGES, "cor-v2", "hf-ckpt:abc", SAMPLING), False),  # prompt version
        (request_key(MESSAGES, "cor-v1", "hf-ckpt:def", SAMPLING), False),  # model identity
        (request_key(MESSAGES, "cor-v1", "hf-ckpt:abc", {**SAMPLING, "max_new_tokens": 65}), False),  # sampling
        (request_key(MESSAGES, "cor-v1", "hf-ckpt:abc", SAMPLING, {"chat_template_kwargs": {"x": 1}}),
         False),  # chat-template arguments change the prompt the model sees
        (request_key(MESSAGES[::-1], "cor-v1", "hf-ckpt:abc", SAMPLING), False),  # message order matters
    ],
)
def test_key_depends_on_exactly_the_request(changed: str, same_key: bool) -> None:
    assert (changed == BASE) is same_key
    assert len(changed) == 32


def _record(key: str, text: str = "text <answer>[[A]]</answer>") -> CachedGeneration:
    return CachedGeneration(key, text, "stop", 10, 5)


def test_append_then_reload(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "gen.jsonl"
    with GenerationCache(path) as cache:
        cache.append(_record("k1"), {"item_id": "1", "tag": "A"})
        cache.append(_record("k2", "ünïcode ✓"), {"item_id": "1", "tag": "B"})
    reloaded = GenerationCache(path)
    assert len(reloaded) == 2 and reloaded.get("k2") == _record("k2", "ünïcode ✓")
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["item_id"] == "1"  # readable context kept


def test_torn_last_line_is_dropped_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    with GenerationCache(path) as cache:
        cache.append(_record("k1"))
    with open(path, "ab") as handle:  # what a writer killed mid-line leaves behind
        handle.write(b'{"key": "k2", "text": "half a gener')
    cache = GenerationCache(path)
    assert set(cache.records) == {"k1"} and cache.torn_tail and cache.bad_lines == 0
    cache.append(_record("k3"))
    cache.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["k1", "k3"]  # the torn bytes are gone, not glued to k3


def test_torn_file_with_no_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    path.write_bytes(b'{"key": "k1", "te')
    with GenerationCache(path) as cache:
        assert len(cache) == 0
        cache.append(_record("k2"))
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k2"]


def test_damaged_middle_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    good = json.dumps({"key": "k1", "text": "t", "finish_reason": "stop"})
    path.write_text(f"{good}\nnot json\n{{\"no_key\": 1}}\n\n", encoding="utf-8")
    cache = GenerationCache(path)
    assert set(cache.records) == {"k1"} and cache.bad_lines == 2 and not cache.torn_tail


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    with GenerationCache(path) as first:
        first.append(_record("k1"))
        second = GenerationCache(path)
        with pytest.raises(EvalError, match="in use by another run"):
            second.append(_record("k2"))
    with GenerationCache(path) as third:  # the lock goes with the first writer
        third.append(_record("k2"))
    assert len(GenerationCache(path)) == 2


def test_cache_path_that_is_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="is not a file"):
        GenerationCache(tmp_path)


def test_eval_and_distillation_share_one_response_cache(tmp_path: Path) -> None:
    from data_prep.distill.passes import CachedResponse, ResponseCache
    from infra.response_log import ResponseLog

    assert issubclass(GenerationCache, ResponseLog) and issubclass(ResponseCache, ResponseLog)
    path = tmp_path / "teacher.jsonl"
    with ResponseCache(path) as cache:
        cache.put(CachedResponse("k", "pass1", "r1", "m", "text", None, "stop", 1, 2))
    # the lock is the file's own (flock): no sidecar lock file is left beside a distill cache any more
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher.jsonl"]
    with GenerationCache(tmp_path / "new" / "deeper" / "gen.jsonl"):
        pass  # locked, never written: neither the file nor the folders it made are left
    assert not (tmp_path / "new").exists()
