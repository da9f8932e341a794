"""Issue 21 item 9: the robustness CLI end to end with the tiny local model through the transformers backend.

The tiny model's weights are random, so its verdicts are noise: these tests prove the plumbing (every
probe judged through the real backend, the assistant prefix continued, label log-probabilities read),
not the rates, which the scripted judges of test_robustness_metrics.py prove.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

import eval.robustness.cli as cli
from eval.backends.base import Generation, OnResult, Request, Sampling
from eval.backends.chat_tokens import ChatTokenizer
from eval.backends.hf import HFBackend
from testkit.judge_texts import extract_candidates
from testkit.robust_judges import cor_trace, marker_pick

ROWS = [{"id": "m1", "subset": "math-prm", "prompt": "What is six times seven?",
         "chosen": "Multiply six by seven: the answer is 42.", "rejected": "The answer is 41."},
        {"id": "c1", "subset": "alpacaeval-easy", "prompt": "How is bread made?",
         "chosen": "Bread is baked in an oven.", "rejected": "Bread grows on trees."}]


@pytest.fixture
def data(tmp_path: Path) -> str:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return str(path)


def _argv(model: Path, data: str, out: Path, *flags: str) -> list[str]:
    return ["--ckpt", str(model), "--backend", "hf", "--variant", "instruct", "--data", data, "--out", str(out),
            "--max-new-tokens", "4", "--no-progress", "--no-plots", *flags]


def test_cli_end_to_end_with_the_tiny_model(tiny_model_dir: Path, tmp_path: Path, data: str) -> None:
    out = tmp_path / "out"
    assert cli.main(_argv(tiny_model_dir, data, out, "--probes", "master_key,counterfactual", "--limit", "1")) == 0
    report = json.loads((out / "robustness.json").read_text())
    assert report["position"]["comparisons"] == 1 and report["library_version"].startswith("probe-lib-")
    judged = report["position"]["parse_failures"] + sum(r["n"] for r in report["master_key"] if r["name"] != "(all)")
    assert judged >= 2  # the clean pair and 11 keys, each in both orders, through the real backend
    assert (out / "robustness.md").read_text().startswith("# Robustness: hf:")
    assert (out / "summary.json").is_file() and (out / "items.jsonl").is_file()


class ScriptedFirstPass(HFBackend):
    """The tiny model continues assistant prefixes for real; full judgments are scripted CoR traces."""

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        prefixed = [i for i, r in enumerate(requests) if r.messages[-1]["role"] == "assistant"]
        if prefixed:
            super().generate([requests[i] for i in prefixed], sampling, lambda j, g: on_result(prefixed[j], g))
        pick = marker_pick("42")
        for index, request in enumerate(requests):
            if index not in prefixed:
                text_a, text_b = extract_candidates(request.messages[-1]["content"]) or ("", "")
                on_result(index, Generation(cor_trace(pick(text_a, text_b), text_a, text_b, True), "stop"))


def test_intervention_and_nldd_through_the_hf_backend(tiny_model_dir: Path, tmp_path: Path, data: str) -> None:
    backend = ScriptedFirstPass(tiny_model_dir, device="cpu", model_name="tiny-hybrid")
    out = tmp_path / "out"
    assert cli.main(_argv(tiny_model_dir, data, out, "--probes", "style"), backend=backend) == 0
    report = json.loads((out / "robustness.json").read_text())
    swap = report["intervention"][0]
    assert swap["n"] + swap["parse_failures"] == 4  # both clean comparisons in both orders, each continued
    assert [r["n"] for r in report["nldd"]] == [4, 0, 4]  # swap and eval_deleted; no <solution> to change
    assert all(r["mean"] is not None for r in report["nldd"] if r["n"])


def test_an_assistant_prefix_is_continued_not_closed(tiny_model_dir: Path) -> None:
    tokens = ChatTokenizer(tiny_model_dir)
    user = [{"role": "user", "content": "Which is better?"}]
    prefix = "<eval>evidence</eval><answer>[["
    closed = tokens.tokenizer.decode(tokens.ids(user))
    continued = tokens.tokenizer.decode(tokens.ids([*user, {"role": "assistant", "content": prefix}]))
    assert continued == closed + prefix  # the generation prompt, then the prefix, and no end-of-turn after it


def test_preflight_stage_tells_a_robust_judge_from_a_fooled_one(tmp_path: Path) -> None:
    from preflight import robustness_stage

    summary = robustness_stage.run_stage(tmp_path)
    assert summary.splitlines()[0].startswith("robustness suite on 8 fixture pairs")
    assert "## Injection" in summary and "## Master keys" in summary


def test_a_served_judge_is_asked_to_continue_the_prefix(tmp_path: Path, data: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.chat_client import ChatClient
    from testkit.loopback_judge import LoopbackJudge
    from testkit.robust_judges import CoRBackend

    sent: list[dict[str, object]] = []
    original = ChatClient.chat

    async def recording(self: ChatClient, messages: object, **fields: object) -> object:
        sent.append({"last_role": messages[-1]["role"], **fields})  # type: ignore[index]
        return await original(self, messages, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr(ChatClient, "chat", recording)
    policy = CoRBackend(marker_pick("42")).policy  # full CoR traces, so there is evidence to corrupt
    with LoopbackJudge(policy) as judge:
        argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--data", data,
                "--out", str(tmp_path / "out"), "--probes", "style", "--no-progress", "--no-plots"]
        assert cli.main(argv) == 0
    prefixed = [s for s in sent if s["last_role"] == "assistant"]
    assert len(prefixed) == 8  # swap and eval_deleted for 2 clean comparisons x 2 orders
    assert all(s["continue_final_message"] is True and s["add_generation_prompt"] is False for s in prefixed)
    assert not any("continue_final_message" in s for s in sent if s["last_role"] != "assistant")


def test_continuation_fields_refuse_a_mixed_batch() -> None:
    from eval.backends.openai_compat import continuation_fields
    from eval.errors import BackendError

    ask = Request([{"role": "user", "content": "q"}], "k1")
    prefix = Request([{"role": "user", "content": "q"}, {"role": "assistant", "content": "<eval>"}], "k2")
    assert continuation_fields([ask]) == {} and continuation_fields([prefix])["continue_final_message"] is True
    with pytest.raises(BackendError, match="mixes"):
        continuation_fields([ask, prefix])
