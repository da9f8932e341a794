"""Regression tests for the eval items of issue 12 (each failed before its fix) and the one CLI error convention.

Every test drives `eval/rewardbench.py` (or `eval/compare.py`) in process against a scripted loopback
judge, on synthetic rows in the exact RewardBench schema, and checks what the user sees: the exit
code, a one-line message naming the flag, the files written and the requests the server received.
"""

from __future__ import annotations

import errno
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import compare, rewardbench
from eval.cache import GenerationCache
from eval.errors import EvalError
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import ExtractionError, fixed_text, marker_policy

PROG = "python eval/rewardbench.py: error: "
# One row per section (the chosen answer is marked, so the marker judge is always right).
SECTION_ROWS = [("alpacaeval-easy", "Chat"), ("mt-bench-hard", "Chat Hard"), ("donotanswer", "Safety"),
                ("hep-go", "Reasoning")]


def _row(number: int, subset: str, prompt: str = "What is 2 + 2?") -> dict:
    return {"id": number, "prompt": f"{prompt} ({number})", "chosen": "4 (checked)", "rejected": "5",
            "subset": subset, "chosen_model": "a", "rejected_model": "b"}


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy("(checked)")) as server:
        yield server


@pytest.fixture
def data(tmp_path: Path) -> str:
    return _jsonl(tmp_path / "rows.jsonl", [_row(i, s) for i, (s, _) in enumerate(SECTION_ROWS)])


def _run(judge: LoopbackJudge, data: str, out: Path, *extra: str) -> int:
    argv = ["--base-url", judge.base_url, "--model", judge.model or "", "--variant", "instruct", "--data", data,
            "--out", str(out), "--no-progress", "--no-plots", *extra]
    return rewardbench.main(argv)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


# --- Security -------------------------------------------------------------------------------------------


def test_item1_an_api_key_echoed_in_a_normal_answer_is_in_no_written_or_printed_text(
        tmp_path: Path, data: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    secret = f"sk-echo-{uuid.uuid4().hex}"
    monkeypatch.setenv("EVAL_ECHO_KEY", secret)
    with LoopbackJudge(fixed_text(f"You sent {secret}.\n<answer>[[A]]</answer>"), api_key=secret) as server:
        assert _run(server, data, tmp_path / "o", "--api-key-env", "EVAL_ECHO_KEY") == 0
    printed = capsys.readouterr()
    written = [p.read_text(encoding="utf-8") for p in (tmp_path / "o").iterdir()]
    assert len(written) >= 4 and "You sent ***." in (tmp_path / "o" / "generations.jsonl").read_text()
    assert not [t for t in [*written, printed.out, printed.err] if secret in t]


def test_item3_credentials_in_the_base_url_never_reach_the_reports(judge: LoopbackJudge, tmp_path: Path,
                                                                  data: str) -> None:
    url = judge.base_url.replace("http://", "http://alice:hunter2pw@")
    argv = ["--base-url", url, "--model", "loopback-judge", "--variant", "instruct", "--data", data,
            "--out", str(tmp_path / "o"), "--no-progress", "--no-plots"]
    assert rewardbench.main(argv) == 0
    assert _summary(tmp_path / "o")["metadata"]["config"]["backend"]["base_url"] == judge.base_url
    assert not [p for p in (tmp_path / "o").iterdir() if "hunter2pw" in p.read_text(encoding="utf-8")]


# --- Eval integrity -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        {"key": "k1", "text": None, "finish_reason": "stop"},  # the reported case: null text read as "None"
        {"key": "k1", "text": 5, "finish_reason": "stop"},  # a number read as "5"
        {"key": 7, "text": "t", "finish_reason": "stop"},  # a numeric key
        {"key": "", "text": "t"},  # an empty key
        {"key": "k1", "text": "t", "finish_reason": 3},  # a numeric finish reason
        {"key": "k1", "text": "t", "prompt_tokens": "12"},  # a count as text
        {"key": "k1", "text": "t", "completion_tokens": True},  # a bool is not a count
        {"key": "k1", "text": "t", "prompt_tokens": -1},  # a negative count
        ["k1", "t"],  # valid JSON, but not an object
    ],
)
def test_item14_a_cache_record_with_wrong_types_is_counted_and_regenerated(line: object, tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    good = {"key": "k0", "text": "fine", "finish_reason": "stop"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(line) + "\n", encoding="utf-8")
    cache = GenerationCache(path)
    assert set(cache.records) == {"k0"} and cache.bad_lines == 1


def test_item14_bad_cache_lines_are_generated_again_and_reported(judge: LoopbackJudge, tmp_path: Path,
                                                                 data: str) -> None:
    out = tmp_path / "o"
    assert _run(judge, data, out) == 0
    cache = out / "generations.jsonl"
    lines = [json.loads(x) for x in cache.read_text().splitlines()]
    lines[0]["text"] = None
    cache.write_text("".join(json.dumps(x) + "\n" for x in lines))
    calls = judge.call_count
    assert _run(judge, data, out) == 0
    summary = _summary(out)
    assert judge.call_count == calls + 1 and summary["metadata"]["volatile"]["cache_bad_lines"] == 1
    assert any("1 cache lines were unreadable" in note for note in summary["notes"])
    assert summary["score"] == 1.0  # the regenerated judgment, not the text "None"


def test_item15_a_complete_last_record_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    first = json.dumps({"key": "k1", "text": "a", "finish_reason": "stop"})
    last = json.dumps({"key": "k2", "text": "b", "finish_reason": "stop"})
    path.write_text(f"{first}\n{last}", encoding="utf-8")  # e.g. edited by hand, or a power cut after the write
    with GenerationCache(path) as cache:
        assert set(cache.records) == {"k1", "k2"} and not cache.torn_tail and cache.bad_lines == 0
        from eval.cache import CachedGeneration

        cache.append(CachedGeneration("k3", "c", "stop"))
    assert [json.loads(x)["key"] for x in path.read_text().splitlines()] == ["k1", "k2", "k3"]


def test_item15_a_refused_concurrent_run_sends_no_request(judge: LoopbackJudge, tmp_path: Path, data: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    calls = judge.call_count
    with GenerationCache(out / "generations.jsonl"):  # another run holds the cache
        assert _run(judge, data, out) == 2
    assert judge.call_count == calls  # refused before the first request
    assert "in use by another run" in _one_line(capsys)


def test_item16_the_servers_reject_reason_is_kept_per_item_and_counted(tmp_path: Path, data: str) -> None:
    def refuse_long(prompt: str) -> str:
        if "(2)" in prompt:  # one item: both orders refused, as a server with a short context would
            raise ExtractionError(f"This model's maximum context length is 512 tokens, but {len(prompt)} requested")
        return "Fine.\n<answer>[[A]]</answer>"

    with LoopbackJudge(refuse_long) as server:
        assert _run(server, data, tmp_path / "o") == 0
    items = {json.loads(x)["id"]: json.loads(x) for x in (tmp_path / "o" / "items.jsonl").read_text().splitlines()}
    details = [j.get("detail") for j in items["2"]["judgments"]]
    assert all(d and "maximum context length is 512 tokens" in d for d in details)
    assert all(j.get("detail") is None for j in items["0"]["judgments"])
    reasons = _summary(tmp_path / "o")["failures"]["skip_reasons"]
    assert list(reasons.values()) == [2] and "context length is N tokens, but N requested" in next(iter(reasons))
    assert "2 × rejected: " in (tmp_path / "o" / "report.md").read_text()


def test_item16_an_over_long_skip_keeps_its_reason(judge: LoopbackJudge, tiny_model_dir: Path, tmp_path: Path,
                                                   data: str) -> None:
    assert _run(judge, data, tmp_path / "o", "--tokenizer", str(tiny_model_dir), "--max-model-len", "600") == 0
    first = json.loads((tmp_path / "o" / "items.jsonl").read_text().splitlines()[0])
    assert first["judgments"][0]["skipped"] == "skipped_overlong"
    assert "new tokens > context 600" in first["judgments"][0]["detail"]
    assert _summary(tmp_path / "o")["failures"]["skip_reasons"] == {
        "skipped_overlong: N prompt + N new tokens > context N": 8}


def test_item17_a_small_limit_covers_every_section_first(judge: LoopbackJudge, tmp_path: Path) -> None:
    # Chat's 5 subsets come first: round-robin over subsets took 4 Chat items and left no headline score.
    chat = ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"]
    rows = [_row(i, s) for i, s in enumerate(chat + [s for s, _ in SECTION_ROWS[1:]])]
    assert _run(judge, _jsonl(tmp_path / "r.jsonl", rows), tmp_path / "o", "--limit", "4") == 0
    summary = _summary(tmp_path / "o")
    sections = summary["scores"]["strict"]["mean_of_orders"]["sections"]
    assert sections == {"Chat": 1.0, "Chat Hard": 1.0, "Safety": 1.0, "Reasoning": 1.0}
    assert summary["scores"]["strict"]["mean_of_orders"]["overall"] == 1.0 and summary["complete"] is False


def _short_context_tokenizer(tiny_model_dir: Path, folder: Path, length: int) -> str:
    """The tiny model's tokenizer files with a config stating a short context (no weights needed)."""
    folder.mkdir()
    for file in tiny_model_dir.iterdir():
        if file.is_file() and not file.name.endswith(".safetensors"):
            shutil.copy(file, folder / file.name)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "max_position_embeddings": length}))
    return str(folder)


def test_item18_the_tokenizer_alone_screens_against_the_checkpoint_config(judge: LoopbackJudge, tiny_model_dir: Path,
                                                                           tmp_path: Path, data: str) -> None:
    tokenizer = _short_context_tokenizer(tiny_model_dir, tmp_path / "tok", 600)
    calls = judge.call_count
    assert _run(judge, data, tmp_path / "o", "--tokenizer", tokenizer) == 0  # no --max-model-len
    assert _summary(tmp_path / "o")["failures"]["skipped"] == {"skipped_overlong": 8}
    assert judge.call_count == calls  # nothing over-long was sent


def test_item18_the_servers_listed_context_length_is_used(judge: LoopbackJudge, tiny_model_dir: Path,
                                                          tmp_path: Path, data: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    async def vllm_listing(self: object) -> list[dict]:  # what `vllm serve --max-model-len 600` lists
        return [{"id": "loopback-judge", "object": "model", "max_model_len": 600}]

    monkeypatch.setattr("infra.chat_client.ChatClient.list_models", vllm_listing)
    assert _run(judge, data, tmp_path / "o", "--tokenizer", str(tiny_model_dir)) == 0  # config says 32768
    summary = _summary(tmp_path / "o")
    assert summary["failures"]["skipped"] == {"skipped_overlong": 8}
    assert summary["metadata"]["config"]["backend"]["context_limit"] == 600


def test_item18_a_model_the_server_does_not_list_is_refused_before_any_request(
        judge: LoopbackJudge, tmp_path: Path, data: str, capsys: pytest.CaptureFixture[str]) -> None:
    calls = judge.call_count
    argv = ["--base-url", judge.base_url, "--model", "no-such-judge", "--variant", "instruct", "--data", data,
            "--out", str(tmp_path / "o"), "--no-progress", "--no-plots"]
    assert rewardbench.main(argv) == 2 and judge.call_count == calls
    assert "--model 'no-such-judge' is not served" in _one_line(capsys)


def test_item19_two_exported_steps_get_different_default_outputs(tiny_model_dir: Path, tmp_path: Path, data: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for step in (10, 20):
        folder = tmp_path / "ckpt" / f"global_step_{step}" / "huggingface"
        shutil.copytree(tiny_model_dir, folder)
        weights = next(folder.glob("*.safetensors"))
        raw = bytearray(weights.read_bytes())
        raw[-1] ^= step  # two training steps: same names and sizes, different weights
        weights.write_bytes(bytes(raw))
    monkeypatch.chdir(tmp_path)
    for step in (10, 20):
        argv = ["--ckpt", f"ckpt/global_step_{step}/huggingface", "--backend", "hf", "--device", "cpu",
                "--variant", "instruct", "--data", data, "--limit", "1", "--max-new-tokens", "2", "--no-progress",
                "--no-plots"]
        assert rewardbench.main(argv) == 0
    outs = sorted(p.name for p in (tmp_path / "outputs" / "eval" / "rewardbench").iterdir())
    assert len(outs) == 2 and [o.rsplit("-", 1)[0] for o in outs] == ["global_step_10_huggingface",
                                                                      "global_step_20_huggingface"]


def test_item19_a_second_model_is_refused_in_the_first_models_out(judge: LoopbackJudge, tmp_path: Path, data: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(judge, data, tmp_path / "o") == 0
    with LoopbackJudge(marker_policy("(checked)"), model="another-judge") as other:
        assert _run(other, data, tmp_path / "o") == 2
        assert other.call_count == 0
    assert "holds a run with judge 'openai:loopback-judge@" in _one_line(capsys)
    (tmp_path / "o" / "summary.json").unlink()  # only run.json and the cache left (a killed first run): refused
    with LoopbackJudge(marker_policy("(checked)"), model="another-judge") as other:
        assert _run(other, data, tmp_path / "o") == 2 and other.call_count == 0
    err = _one_line(capsys)
    assert "holds a run with judge 'openai:loopback-judge@" in err and "not 'openai:another-judge@" in err
    (tmp_path / "o" / "run.json").unlink()  # only the cache left (a run by older code): still refused
    with LoopbackJudge(marker_policy("(checked)"), model="another-judge") as other:
        assert _run(other, data, tmp_path / "o") == 2 and other.call_count == 0
    assert "holds generations of another judge (openai:loopback-judge@" in _one_line(capsys)


@pytest.mark.parametrize(
    ("flags_b", "named"),
    [
        (["--variant", "reasoning"], "prompt variant: instruct vs reasoning"),
        (["--variant", "instruct", "--parse-mode", "lenient"], "parse mode: strict vs lenient"),
    ],
)
def test_item20_compare_refuses_runs_judged_differently_and_names_the_difference(
        judge: LoopbackJudge, tmp_path: Path, data: str, flags_b: list[str], named: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--base-url", judge.base_url, "--model", "loopback-judge", "--data", data, "--no-progress", "--no-plots"]
    assert rewardbench.main([*base, "--variant", "instruct", "--out", str(tmp_path / "a")]) == 0
    assert rewardbench.main([*base, *flags_b, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    runs = [str(tmp_path / "a"), str(tmp_path / "b"), "--resamples", "100"]
    assert compare.main(runs) == 2
    err = _one_line(capsys)
    assert err.startswith("python eval/compare.py: error: ") and named in err and "--allow-different" in err
    assert compare.main([*runs, "--allow-different"]) == 0
    captured = capsys.readouterr()
    assert f"NOT LIKE FOR LIKE: {named}" in captured.out and "WARNING" in captured.err


def test_item21_a_bad_jsonl_row_is_reported_at_its_line_in_the_file(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n" + json.dumps(_row(1, "math-prm")) + "\n\n{not json\n", encoding="utf-8")
    assert rewardbench.main(["--variant", "instruct", "--data", str(path), "--base-url", "http://127.0.0.1:9/v1",
                             "--model", "m", "--out", str(tmp_path / "o")]) == 2
    assert "line 4 is not valid JSON" in _one_line(capsys)
    path.write_text("\n\n" + json.dumps({"id": 1, "prompt": "q"}) + "\n", encoding="utf-8")  # a row lacking columns
    assert rewardbench.main(["--variant", "instruct", "--data", str(path), "--base-url", "http://127.0.0.1:9/v1",
                             "--model", "m", "--out", str(tmp_path / "o")]) == 2
    assert "RewardBench line 3 of rows.jsonl lacks columns" in _one_line(capsys)


# --- Errors: one sentence, no traceback, the documented exit code -----------------------------------------


@pytest.mark.parametrize(
    ("flags", "code", "named"),
    [
        # was a ChatClient traceback
        (["--concurrency", "0"], 2, "argument --concurrency: '0' is not a whole number of 1 or more"),
        (["--timeout", "0"], 2, "argument --timeout: '0' is not a finite number above 0"),
        (["--requests-per-minute", "-1"], 2, "argument --requests-per-minute: '-1' is not a finite number above 0"),
        (["--order", "sideways"], 2, "argument --order: invalid choice"),  # argparse, in one line
        (["--api-key-env", "EVAL_TEST_UNSET_KEY"], 2, "or drop --api-key-env"),  # a flag, never api_key_env=None
        (["--api-key-env", "sk-pasted-key"], 2, "--api-key-env must be the NAME"),
    ],
)
def test_item33_35_bad_flags_are_one_sentence_before_any_request(
        flags: list[str], code: int, named: str, judge: LoopbackJudge, tmp_path: Path, data: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    calls = judge.call_count
    assert _run(judge, data, tmp_path / "o", *flags) == code
    err = _one_line(capsys)
    assert err.startswith(PROG) and named in err and "api_key_env=" not in err and "sk-pasted-key" not in err
    assert judge.call_count == calls and not (tmp_path / "o" / "summary.json").exists()


def test_item33_an_out_that_is_a_file_or_read_only_is_refused_before_any_request(
        judge: LoopbackJudge, tmp_path: Path, data: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    calls = judge.call_count
    (tmp_path / "file").write_text("x")
    assert _run(judge, data, tmp_path / "file") == 2
    assert "is an existing file this command did not make" in _one_line(capsys)

    def read_only(*args: object, **kwargs: object) -> None:  # root ignores chmod, so the file system says no
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("eval.cli_common.tempfile.NamedTemporaryFile", read_only)
    assert _run(judge, data, tmp_path / "ro") == 2
    assert "is not writable (Read-only file system)" in _one_line(capsys)
    assert judge.call_count == calls


def test_item33_a_full_disk_is_one_sentence_and_exit_1(judge: LoopbackJudge, tmp_path: Path, data: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def full(path: object, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("eval.report.write_text_atomic", full)
    assert _run(judge, data, tmp_path / "o") == 1
    assert "the disk is full" in _one_line(capsys)
    assert (tmp_path / "o" / "generations.jsonl").is_file()  # the generations are kept for the rerun


def test_item33_data_that_is_not_utf8_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(json.dumps(_row(1, "math-prm")).encode() + b"\n{\"id\": \"\xff\xfe\"}\n")
    assert rewardbench.main(["--variant", "instruct", "--data", str(path), "--base-url", "http://127.0.0.1:9/v1",
                             "--model", "m", "--out", str(tmp_path / "o")]) == 2
    assert "is not UTF-8 text" in _one_line(capsys)


def test_item35_a_bad_yaml_model_card_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "README.md").write_text("---\nrm_r1:\n  prompt_variant: [instruct\n---\n", encoding="utf-8")
    assert rewardbench.main(["--ckpt", str(ckpt), "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                             "--out", str(tmp_path / "o")]) == 2
    err = _one_line(capsys)
    assert "invalid YAML front matter at line" in err and "<unicode string>" not in err and len(err) < 300


def test_ctrl_c_is_exit_130_with_one_line(judge: LoopbackJudge, tmp_path: Path, data: str,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("eval.session.evaluate", interrupted)
    assert _run(judge, data, tmp_path / "o") == 130
    assert "interrupted" in _one_line(capsys)


def test_every_eval_error_is_a_user_error() -> None:
    from infra.cli_errors import UserError

    assert issubclass(EvalError, UserError)
