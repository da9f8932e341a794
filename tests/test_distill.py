"""Distillation against the real loopback HTTP judge: filtering, correction, leaks, faults, cap, reruns, verl."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep.distill.checks import check_trace
from data_prep.distill.passes import Teacher
from data_prep.distill.run import DistillOptions, SpendCapReached, distill
from infra.chat_types import Prices
from infra.run_metadata import RunMetadata, sha256_file
from reward_fns import format_verdict
from testkit.cor_policies import case_teacher, told_label, write_case_rows
from testkit.judge_texts import extract_candidates
from testkit.loopback_judge import Fault, LoopbackJudge
from testkit.verl_datasets import assistant_only_loss, datasets_cache_in, verl_sft_dataset

# (case, ground truth): what the scripted teacher does with each row, and where the chosen answer sits.
CASES = [
    ("correct", "A"),  # complete trace, right verdict: kept in pass 1
    ("correct", "B"),  # the same with the chosen answer shown as B
    ("wrong", "A"),  # complete trace, wrong verdict; pass 2 corrects it cleanly
    ("wrong", "B"),  # wrong verdict; the pass-2 answer leaks the hint ("As instructed"): rejected, counted
    ("malformed", "A"),  # two competing verdicts: no strict verdict
    ("nostructure", "A"),  # the right verdict with no Chain-of-Rubrics around it
    ("truncated", "A"),  # cut off by max_tokens (finish_reason=length)
]
MAX_TOKENS = 250  # the truncated case writes more words than this; every other answer fewer


scripted = case_teacher


def write_distill(path: Path, cases=CASES, variant: str = "instruct") -> Path:
    return write_case_rows(path, cases, variant)


def options(tmp: Path, judge: LoopbackJudge, *, fix: bool = True, **kw) -> DistillOptions:
    teacher = Teacher(judge.base_url, judge.model, max_concurrency=kw.pop("concurrency", 4), backoff_base_s=0.01,
                      max_retries=kw.pop("max_retries", 3), timeout_s=kw.pop("timeout_s", 10.0),
                      sampling={"max_tokens": MAX_TOKENS})
    return DistillOptions(input=kw.pop("input", tmp / "distill.parquet"), out=kw.pop("out", tmp / "sft"),
                          teacher=teacher, fix_teacher=teacher if fix else None, progress=False,
                          val_size=kw.pop("val_size", 0.2), **kw)


@pytest.fixture
def distill_file(tmp_path: Path) -> Path:
    return write_distill(tmp_path / "distill.parquet")


def test_pass1_keeps_only_right_and_complete_traces(tmp_path: Path, distill_file: Path) -> None:
    with LoopbackJudge(scripted) as judge:
        result = distill(options(tmp_path, judge, fix=False))
    first = result.counts["passes"]["pass1"]
    assert first["asked"] == 7 and first["kept"] == 2
    assert {k: v for k, v in first["rejected"].items() if v} == {
        "wrong_verdict": 2, "no_verdict": 1, "incomplete_structure": 1, "truncated": 1}
    assert first["rejected_detail"]["no_verdict"] == {"competing": 1}
    assert "pass2" not in result.counts["passes"] and judge.call_count == 7


def test_pass2_corrects_rechecks_and_rejects_leaks(tmp_path: Path, distill_file: Path) -> None:
    with LoopbackJudge(scripted) as judge:
        result = distill(options(tmp_path, judge))
    second = result.counts["passes"]["pass2"]
    assert second["asked"] == 5 and second["corrected"] == 4
    assert second["rejected"]["leak"] == 1 and second["rejected_detail"]["leak"] == {"as instructed": 1}
    merged = result.counts["merged"]
    assert (merged["kept_pass1"], merged["kept_pass2"], merged["kept"]) == (2, 4, 6)
    assert merged["dropped"] == {"leak": 1}
    rows = [r for split in ("train", "val") for r in pq.read_table(tmp_path / "sft" / f"{split}.parquet").to_pylist()]
    for row in rows:  # every kept trace passes the same filter again, and its text is the teacher's verbatim
        truth = row["extra_info"]["chosen_position"]
        assert check_trace(row["messages"][-1]["content"], truth, "instruct", check_leak=True).kept
        assert row["messages"][-1]["role"] == "assistant" and row["messages"][0]["role"] == "system"
    assert sorted(r["extra_info"]["distill_pass"] for r in rows) == ["pass1"] * 2 + ["pass2"] * 4
    # the pass-2 request showed the failed judgment and named the correct verdict
    fixes = [c.prompt for c in judge.calls if extract_candidates(c.prompt or "") is None]
    assert len(fixes) == 5 and all(told_label(p) in "AB" for p in fixes)


def test_manifest_records_versions_tokens_cost_and_outputs(tmp_path: Path, distill_file: Path) -> None:
    with LoopbackJudge(scripted) as judge:
        result = distill(options(tmp_path, judge, prices=Prices(2.0, 8.0)))
    meta = RunMetadata.read(result.manifest)
    assert meta.prompt_version == "cor-v1" and meta.model == judge.model
    assert meta.config["data_kind"] == "sft" and meta.config["variant"] == "instruct"
    assert meta.config["leak_phrases_version"] == "leak-v1" and meta.config["correction_prompt_version"] == "fix-v1"
    tokens = meta.counts["tokens"]["all"]
    assert tokens["responses"] == judge.call_count == 12
    expected = (tokens["prompt_tokens"] * 2.0 + tokens["completion_tokens"] * 8.0) / 1e6
    assert meta.counts["cost_usd"] == pytest.approx(expected, abs=1e-6)
    for ref in meta.outputs:
        assert sha256_file(result.out / ref.path) == ref.sha256
    assert meta.counts["lengths"]["count"] == 6 and meta.counts["lengths"]["max_length"] == 12288


def test_rerun_is_byte_identical_and_asks_nothing(tmp_path: Path, distill_file: Path) -> None:
    with LoopbackJudge(scripted) as judge:
        distill(options(tmp_path, judge))
        first = {p.name: sha256_file(p) for p in (tmp_path / "sft").glob("*.parquet")}
        judge.reset()
        result = distill(options(tmp_path, judge))
        assert judge.call_count == 0  # everything came from the cache
    assert {p.name: sha256_file(p) for p in (tmp_path / "sft").glob("*.parquet")} == first
    assert result.run_cost_usd is None
    with LoopbackJudge(scripted) as fresh:  # a fresh cache and server give the same bytes too
        distill(options(tmp_path, fresh, out=tmp_path / "again"))
    assert {p.name: sha256_file(p) for p in (tmp_path / "again").glob("*.parquet")} == first


@pytest.mark.parametrize("faults", [
    [Fault.rate_limit(0.01)] * 3,  # 429 with Retry-After, three times in a row
    [Fault.server_error(500), Fault.server_error(503)],  # 5xx
    [Fault.slow(2.0)],  # longer than the client's timeout: the attempt times out and is retried
    [Fault.malformed_json(), Fault.reset()],  # a torn body and a connection reset
])
def test_transient_faults_are_retried_without_changing_the_result(tmp_path: Path, distill_file: Path, faults) -> None:
    with LoopbackJudge(scripted, faults=faults) as judge:
        result = distill(options(tmp_path, judge, concurrency=1, timeout_s=0.5))
    assert result.counts["merged"]["kept"] == 6 and result.request_failures == 0
    assert judge.call_count == 12 + len(faults)


def test_failed_requests_are_counted_and_only_they_are_asked_again(tmp_path: Path, distill_file: Path) -> None:
    with LoopbackJudge(scripted, faults=[Fault.server_error(500)] * 2) as judge:
        result = distill(options(tmp_path, judge, fix=False, concurrency=1, max_retries=1))
    assert result.request_failures == 1 and result.counts["passes"]["pass1"]["rejected"]["request_failed"] == 1
    with LoopbackJudge(scripted) as judge:
        rerun = distill(options(tmp_path, judge, fix=False))
        assert judge.call_count == 1 and rerun.request_failures == 0


def test_spend_cap_stops_cleanly_and_a_higher_cap_continues(tmp_path: Path, distill_file: Path) -> None:
    prices = Prices(0.0, 4000.0)  # a request may cost up to 1.0 USD (250 tokens); answers cost 0.1-0.4 USD
    with LoopbackJudge(scripted) as judge:
        with pytest.raises(SpendCapReached, match=r"--max-cost 1\.05"):
            distill(options(tmp_path, judge, concurrency=1, prices=prices, max_cost=1.05))
        asked = judge.call_count
        assert 0 < asked < 7 and not (tmp_path / "sft" / "train.parquet").exists()
        judge.reset()
        result = distill(options(tmp_path, judge, concurrency=1, prices=prices, max_cost=100.0))
        assert judge.call_count == 12 - asked  # nothing asked twice
    assert result.counts["merged"]["kept"] == 6


def test_cli_without_prices_refuses_a_cap(tmp_path: Path, distill_file: Path, capsys) -> None:
    from data_prep.distill.run import main
    from infra.cli_errors import run_cli

    code = run_cli(main, ["--input", str(distill_file), "--out", str(tmp_path / "o"), "--teacher-url",
                          "http://127.0.0.1:9/v1", "--teacher-model", "m", "--max-cost", "5"], prog="distill")
    assert code == 2 and "--max-cost needs prices" in capsys.readouterr().err


def test_reasoning_traces_keep_their_think_block(tmp_path: Path, tiny_tokenizer) -> None:
    path = write_distill(tmp_path / "distill.parquet", [("correct", "A"), ("correct", "B")], variant="reasoning")

    def thinker(prompt: str) -> str:  # the chat template opened <think>, so the answer starts inside it
        good = "A" if "GOOD" in extract_candidates(prompt)[0] else "B"
        return f"Chatbot {good} is the GOOD one.\n</think>\n\n{format_verdict(good)}"

    with LoopbackJudge(thinker) as judge:
        result = distill(options(tmp_path, judge, input=path, val_size=0))
    row = pq.read_table(result.out / "train.parquet").to_pylist()[0]
    trace = row["messages"][-1]["content"]
    assert trace.startswith("<think>\n") and "</think>" in trace and result.counts["merged"]["kept"] == 2
    assert [m["role"] for m in row["messages"]] == ["user", "assistant"]


def test_sft_parquet_trains_on_the_reply_only_in_verl(tmp_path: Path, distill_file: Path, tiny_tokenizer) -> None:
    with LoopbackJudge(scripted) as judge:
        result = distill(options(tmp_path, judge))
    with datasets_cache_in(tmp_path / "ds_cache"):
        dataset = verl_sft_dataset([result.out / "train.parquet"], tiny_tokenizer, 8192)
    rows = pq.read_table(result.out / "train.parquet").to_pylist()
    assert len(dataset) == len(rows) == result.rows["train"]
    for i, row in enumerate(rows):
        assert assistant_only_loss(dataset[i], tiny_tokenizer, row["messages"][-1]["content"])


def test_tokenizer_lengths_drop_overlong_rows(tmp_path: Path, distill_file: Path, tiny_model_dir: Path) -> None:
    with LoopbackJudge(scripted) as judge:
        full = distill(options(tmp_path, judge, tokenizer=str(tiny_model_dir)))
        limit = full.counts["lengths"]["median"]  # half the rows are longer than this
        cut = distill(options(tmp_path, judge, tokenizer=str(tiny_model_dir), max_length=limit, out=tmp_path / "cut"))
    assert full.counts["lengths"]["source"] == "tokenizer"
    assert cut.counts["lengths"]["max"] <= limit and cut.counts["merged"]["too_long_dropped"] > 0
    assert RunMetadata.read(cut.manifest).config["max_length"] == limit


def test_the_api_key_reaches_the_server_and_nothing_we_write(tmp_path: Path, distill_file: Path, monkeypatch) -> None:
    monkeypatch.setenv("TEACHER_TEST_KEY", "sk-loopback-secret-123")
    with LoopbackJudge(scripted, api_key="sk-loopback-secret-123") as judge:
        teacher = Teacher(judge.base_url, judge.model, api_key_env="TEACHER_TEST_KEY", sampling={"max_tokens": 250})
        result = distill(DistillOptions(input=distill_file, out=tmp_path / "sft", teacher=teacher, progress=False))
    assert result.counts["merged"]["kept"] == 2 and all(c.status == 200 for c in judge.calls)
    for path in (tmp_path / "sft").rglob("*"):
        if path.is_file():
            assert b"sk-loopback-secret-123" not in path.read_bytes(), path
    assert RunMetadata.read(result.manifest).config["teachers"]["pass1"]["api_key_env"] == "TEACHER_TEST_KEY"


def test_cli_spend_cap_exits_1_with_one_sentence(tmp_path: Path, distill_file: Path, capsys) -> None:
    from data_prep.distill.run import main
    from infra.cli_errors import run_cli

    with LoopbackJudge(scripted) as judge:
        code = run_cli(main, ["--input", str(distill_file), "--out", str(tmp_path / "o"), "--teacher-url",
                              judge.base_url, "--teacher-model", judge.model, "--price-prompt", "1000",
                              "--price-completion", "1000", "--max-cost", "0.2", "--max-concurrency", "1",
                              "--no-progress"], prog="distill")
    err = capsys.readouterr().err
    assert code == 1 and "spend cap" in err and "rerunning with a higher --max-cost" in err
