"""Issue 25 items 2, 4 and 7 for distill.py, against a real HTTP teacher (the loopback judge).

The spend cap holds whatever the concurrency (each request's worst case is reserved before it is sent);
a teacher that reports no usage is costed from local counts and the run says so; a prompt over
--max-length is refused before it is paid for; --out and --cache never land on an input; a key pasted
into --api-key-env is never echoed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import testkit.loopback_judge as loopback
from data_prep.distill import run as distill
from data_prep.distill.passes import token_bound
from infra.cli_errors import EXIT_FAILED, run_cli
from testkit.cor_policies import case_teacher, write_case_rows
from testkit.loopback_judge import LoopbackJudge

CASES = [("correct", "A"), ("correct", "B"), ("wrong", "A"), ("correct", "A")] * 4  # 16 rows
MAX_TOKENS = 250
PRICE_COMPLETION = 600.0  # USD per million: an answer of 250 words (the limit) costs 0.15 USD


def _argv(judge, source: Path, out: Path, *extra) -> list[str]:
    return [str(a) for a in ("--input", source, "--out", out, "--teacher-url", judge.base_url, "--teacher-model",
                             judge.model, "--no-progress", "--max-tokens", MAX_TOKENS, "--val-size", "1",
                             "--price-prompt", "0", "--price-completion", PRICE_COMPLETION, *extra)]


def _call(argv, capsys) -> tuple[int, str]:
    code = run_cli(distill.main, argv, prog="distill")
    return code, capsys.readouterr().err


def _paid(cache: Path) -> float:
    """USD the cached answers cost at the test's prices, from the tokens the teacher reported."""
    lines = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()] if cache.exists() else []
    return sum((r["completion_tokens"] or 0) * PRICE_COMPLETION / 1e6 for r in lines)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_case_rows(tmp_path / "distill.parquet", CASES)


@pytest.mark.parametrize(("concurrency", "cap"), [
    (8, 0.5),  # the issue: 8 requests at once for a 0.5 cap spent 1.20 USD and wrote the set
    (32, 0.5),  # the issue: concurrency 32 spent 4.95 USD for a 0.5 cap
    (32, 0.16),  # one worst case fits, a second would not (not in the issue)
])
def test_the_cap_holds_whatever_the_concurrency(source, tmp_path, capsys, concurrency, cap) -> None:
    with LoopbackJudge(case_teacher, delay_s=0.05) as judge:
        code, err = _call(_argv(judge, source, tmp_path / "sft", "--max-cost", cap, "--max-concurrency", concurrency),
                          capsys)
        asked = judge.call_count
    assert code == EXIT_FAILED and "--max-cost" in err and "nothing was written" in err and err.count("\n") == 1
    assert 0 < asked < len(CASES) and asked * 0.15 <= cap + 1e-9  # never more requests than the cap's worst case
    assert _paid(tmp_path / "sft" / "cache" / "teacher_responses.jsonl") <= cap  # the cache keeps what was paid
    assert not (tmp_path / "sft" / "train.parquet").exists() and not (tmp_path / "sft" / "manifest.json").exists()


def test_a_teacher_reporting_no_usage_is_costed_locally_and_says_so(source, tmp_path, capsys, monkeypatch) -> None:
    real = loopback.completion_body

    def without_usage(*args, **kwargs):
        body = real(*args, **kwargs)
        body.pop("usage")
        return body

    monkeypatch.setattr(loopback, "completion_body", without_usage)  # the server thread answers without usage
    with LoopbackJudge(case_teacher) as judge:
        code, err = _call(_argv(judge, source, tmp_path / "sft", "--max-cost", "0.5"), capsys)
        asked = judge.call_count
    assert code == EXIT_FAILED and "without token usage and were costed from local counts" in err
    assert 0 < asked < len(CASES)  # before: 0.00 USD per answer, so the cap never fired and all 16 were asked


def test_a_run_without_usage_reports_it_in_the_manifest(source, tmp_path, capsys, monkeypatch) -> None:
    real = loopback.completion_body
    monkeypatch.setattr(loopback, "completion_body", lambda *a, **k: {**real(*a, **k), "usage": None})
    with LoopbackJudge(case_teacher) as judge:
        code = run_cli(distill.main, _argv(judge, source, tmp_path / "sft"), prog="distill")
    out, err = capsys.readouterr()
    assert code == 0 and f"note: {len(CASES)} answers came without token usage" in out, err
    tokens = json.loads((tmp_path / "sft" / "manifest.json").read_text())["counts"]["tokens"]["all"]
    assert tokens["missing_usage"] == len(CASES) and tokens["cost_usd"] > 0  # costed from local counts, not 0


def test_an_over_long_prompt_is_refused_before_it_is_sent(tmp_path, capsys, tiny_model_dir) -> None:
    source = write_case_rows(tmp_path / "distill.parquet", CASES[:4])
    with LoopbackJudge(case_teacher) as judge:
        code, err = _call(_argv(judge, source, tmp_path / "sft", "--tokenizer", tiny_model_dir, "--max-length", "50"),
                          capsys)
        asked = judge.call_count
    assert asked == 0 and code == EXIT_FAILED and "too_long" in err  # nothing was paid for a row that cannot train


def test_pass_2_refuses_a_row_whose_pass_1_prompt_was_over_the_limit(tmp_path, capsys) -> None:
    """Without a tokenizer pass 1 learns each prompt's size from the teacher; pass 2 does not pay for it again."""
    source = write_case_rows(tmp_path / "distill.parquet", [("wrong", "A"), ("wrong", "B")])
    with LoopbackJudge(case_teacher) as judge:
        code, err = _call(_argv(judge, source, tmp_path / "sft", "--max-length", "20", "--fix-teacher-url",
                                judge.base_url, "--fix-teacher-model", judge.model), capsys)
        asked = judge.call_count
    assert asked == 2 and code == EXIT_FAILED and "too_long" in err  # pass 1's two requests, none in pass 2


def test_the_worst_case_bounds_the_teachers_count() -> None:
    messages = [{"role": "system", "content": "Judge."}, {"role": "user", "content": "é 漢字 " * 50 + "\U0001F600"}]
    assert token_bound(messages) >= sum(len(m["content"].split()) for m in messages)  # the loopback's count
    assert token_bound(messages) >= sum(len(m["content"].encode()) for m in messages)  # a byte-level BPE's most


@pytest.mark.parametrize(("flags", "says"), [
    (lambda src, out: ["--cache", src], "--cache '{src}' is --input"),  # the cache appended to the input file
    (lambda src, out: ["--out", src.parent], "--out '{dir}' holds --input"),  # --out the folder of the input
    (lambda src, out: ["--cache", src.parent / "c"], "is an existing folder"),  # a folder is not a cache
])
def test_out_and_cache_never_land_on_the_input(source, tmp_path, capsys, flags, says) -> None:
    (tmp_path / "c").mkdir()
    before = source.read_bytes()
    with LoopbackJudge(case_teacher) as judge:
        argv = _argv(judge, source, tmp_path / "sft")
        extra = [str(a) for a in flags(source, tmp_path / "sft")]
        if extra[0] == "--out":
            argv[argv.index("--out") + 1] = extra[1]
            extra = []
        code, err = _call(argv + extra, capsys)
        assert judge.call_count == 0
    assert code == 2 and says.format(src=source, dir=source.parent) in err and err.count("\n") == 1, err
    assert source.read_bytes() == before


@pytest.mark.parametrize("pasted", [
    "sk-proj-abc123DEF456ghi789",  # an OpenAI-style key
    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz",  # a Hugging Face token (mixed case, so not a variable name)
    "sk-ant-api03-" + "x" * 40,  # a long Anthropic-style key
])
def test_a_key_passed_as_the_variable_name_is_never_echoed(source, tmp_path, capsys, pasted) -> None:
    with LoopbackJudge(case_teacher) as judge:
        code, err = _call(_argv(judge, source, tmp_path / "sft", "--api-key-env", pasted), capsys)
    assert code == 2 and "--api-key-env" in err and pasted not in err and pasted[:8] not in err
    assert not (tmp_path / "sft").exists()
