"""Issue 25's eval cases: no silently wrong score, no input destroyed (each test failed before its fix).

Every CLI runs in process against scripted loopback judges (real HTTP servers on 127.0.0.1). The issue's
own case comes first: two servers serving one model NAME, one a good judge (74.92 on the bundled
RewardBench fixture) and one that always answers B (50.00), must never share a cache or a report folder.
Each class of the issue gets one more input that its text does not name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval import compare, rewardbench, shards
from eval.backends.openai_compat import OpenAIBackend, normalised_url
from eval.cache import CachedGeneration, GenerationCache
from infra.chat_client import chat_batch
from infra.chat_types import TransientError, parse_completion
from testkit.loopback_judge import Fault, LoopbackJudge
from testkit.loopback_policies import fixed_text, marker_policy

MARKER_SCORE = "74.92"  # tests/test_eval_cli.py derives it by hand from the fixture


@pytest.fixture(scope="module")
def fixture_path(repo_root: Path) -> str:
    return str(repo_root / "preflight" / "samples" / "rewardbench_sample.jsonl")


@pytest.fixture(scope="module")
def good() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy("(checked)", fallback="A"), model="judge") as server:
        yield server


@pytest.fixture(scope="module")
def always_b() -> Iterator[LoopbackJudge]:
    with LoopbackJudge("always_b", model="judge") as server:  # the same served NAME as ``good``
        yield server


def _argv(judge: LoopbackJudge | str, data: str, *extra: str) -> list[str]:
    url = judge if isinstance(judge, str) else judge.base_url
    return ["--base-url", url, "--model", "judge", "--variant", "instruct", "--data", data, "--no-progress",
            "--no-plots", *extra]


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- 1. Judge identity --------------------------------------------------------------------------------------------


def test_two_servers_of_one_name_never_share_a_default_out_or_a_cache(good: LoopbackJudge, always_b: LoopbackJudge,
                                                                       fixture_path: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # the default --out is relative: outputs/eval/rewardbench/judge-<8 hex>
    assert rewardbench.main(_argv(good, fixture_path)) == 0
    assert f"score {MARKER_SCORE}" in capsys.readouterr().out
    calls = always_b.call_count
    assert rewardbench.main(_argv(always_b, fixture_path)) == 0
    printed = capsys.readouterr().out
    assert "score 50.00" in printed and "0 cached, 46 generated" in printed  # was 74.92, "46 cached, 0 generated"
    assert always_b.call_count - calls == 46
    folders = sorted((tmp_path / "outputs" / "eval" / "rewardbench").iterdir())
    assert len(folders) == 2  # each judge its own default --out, named by its endpoint
    endpoints = sorted(_summary(f)["metadata"]["model"].split("@")[1].split("#")[0] for f in folders)
    assert endpoints == sorted(normalised_url(j.base_url) for j in (good, always_b))


@pytest.mark.parametrize("how", [
    "out",  # the issue: --out pointing at the other judge's folder
    "cache",  # not in the issue: --cache naming the other judge's cache file from a fresh --out
    "killed",  # not in the issue: the other judge's run was killed before its summary (run.json and cache only)
])
def test_another_judge_of_the_same_name_is_refused_naming_both(how: str, good: LoopbackJudge, always_b: LoopbackJudge,
                                                                fixture_path: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first"
    assert rewardbench.main(_argv(good, fixture_path, "--out", str(first))) == 0
    capsys.readouterr()
    if how == "killed":
        (first / "summary.json").unlink()
    flags = ["--out", str(tmp_path / "second"), "--cache", str(first / "generations.jsonl")] if how == "cache" \
        else ["--out", str(first)]
    calls = always_b.call_count
    assert rewardbench.main(_argv(always_b, fixture_path, *flags)) == 2
    err = _one_line(capsys)
    assert always_b.call_count == calls
    assert normalised_url(good.base_url) in err and normalised_url(always_b.base_url) in err, err
    assert "--same-judge-as" in err
    assert not (tmp_path / "second").exists() or not any((tmp_path / "second").iterdir())


def test_same_judge_as_declares_a_second_endpoint_the_same_judge(good: LoopbackJudge, fixture_path: str,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert rewardbench.main(_argv(good, fixture_path, "--out", str(out))) == 0
    with LoopbackJudge(marker_policy("(checked)", fallback="A"), model="judge") as replica:
        assert rewardbench.main(_argv(replica, fixture_path, "--out", str(out))) == 2  # undeclared: refused
        # declared, with the first URL spelled differently (upper-case host part, explicit path slash)
        same = good.base_url.replace("http://", "HTTP://") + "/"
        assert rewardbench.main(_argv(replica, fixture_path, "--out", str(out), "--same-judge-as", same)) == 0
        assert replica.call_count == 0  # every judgment came from the first endpoint's cache
    assert _summary(out)["metadata"]["volatile"]["cache_hits"] == 46


@pytest.mark.parametrize(("a", "b", "same"), [
    ({}, {}, True),  # one server, two reads
    ({"created": 1}, {"created": 2}, True),  # vLLM stamps created anew on every GET /models
    ({"root": "/ckpt/step-100"}, {"root": "/ckpt/step-200"}, False),  # a restart serving another checkpoint
    ({"max_model_len": 4096}, {"max_model_len": 8192}, False),  # not in the issue: another context length
])
def test_the_model_listing_is_part_of_a_served_judges_identity(a: dict, b: dict, same: bool) -> None:
    ids, port = [], 0
    for listing in (a, b):  # one address: the second server is the first one restarted
        with LoopbackJudge("always_a", model="judge", listing=listing, port=port) as server:
            ids.append(OpenAIBackend(server.base_url, "judge").model_id)
            port = int(server.base_url.split(":")[-1].split("/")[0])
    assert (ids[0] == ids[1]) == same, ids


@pytest.mark.parametrize(("url", "normal"), [
    ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1"),  # a trailing slash
    ("HTTP://LocalHost:8000/v1", "http://localhost:8000/v1"),  # case
    ("http://user:pw@host/v1?x=1", "http://host:80/v1"),  # credentials and a query are never part of it
    ("https://[::1]/v1", "https://[::1]:443/v1"),  # not in the issue: IPv6 and the default https port
    ("ftp://host/v1", ""),  # not http(s)
])
def test_normalised_url(url: str, normal: str) -> None:
    assert normalised_url(url) == normal


def test_a_refused_connection_is_exit_1_in_eval(fixture_path: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackJudge("always_a", model="judge") as server:
        url = server.base_url
    assert rewardbench.main(_argv(url, fixture_path, "--out", str(tmp_path / "o"))) == 1  # the README: run failed
    assert "could not connect" in _one_line(capsys)


def _cache_line(key: str, model_id: str | None) -> str:
    record = {"key": key, "text": "<answer>[[A]]</answer>", "finish_reason": "stop"}
    return json.dumps(record | ({"model_id": model_id} if model_id else {})) + "\n"


def test_merge_caches_refuses_two_judges_naming_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(_cache_line("k1", "openai:judge@http://127.0.0.1:1/v1#aaaaaaaaaaaa"))
    b.write_text(_cache_line("k2", "openai:judge@http://127.0.0.1:2/v1#bbbbbbbbbbbb"))
    out = tmp_path / "merged.jsonl"
    assert _merge("--out", str(out), str(a), str(b)) == 2
    err = _one_line(capsys)
    assert "127.0.0.1:1" in err and "127.0.0.1:2" in err and not out.exists()


def _merge(*argv: str) -> int:
    from infra.cli_errors import run_cli

    return run_cli(shards.main, ["merge-caches", *argv], prog="python -m eval.shards")


# --- 2. Never destroy an input ------------------------------------------------------------------------------------


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", [
    "cache_is_data",  # the issue: --cache set to the --data file
    "out_is_data_folder",  # the issue: --out equal to the data folder
    "out_inside_data_folder",  # not in the issue: --out a new folder inside the data folder
    "out_holds_data",  # not in the issue: --out a folder that holds the data file
    "out_is_stranger",  # an existing folder the command did not make
    "cache_is_stranger",  # not in the issue: --cache an existing file that is no generation cache
    "cache_is_template",  # not in the issue: --cache the --prompt-template file
])
def test_an_output_that_would_destroy_an_input_is_refused(case: str, good: LoopbackJudge, fixture_path: str,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          repo_root: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = data_dir / "filtered.jsonl"  # the folder is a dataset too: its file of the default split
    data.write_bytes(Path(fixture_path).read_bytes())
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("my notes\n")
    template = tmp_path / "template.txt"
    template.write_bytes((repo_root / "data_prep" / "templates" / "instruct.txt").read_bytes())
    flags = {"cache_is_data": ["--out", str(tmp_path / "o"), "--cache", str(data)],
             "out_is_data_folder": ["--out", str(data_dir)],
             "out_inside_data_folder": ["--out", str(data_dir / "report")],
             "out_holds_data": ["--out", str(tmp_path)],
             "out_is_stranger": ["--out", str(stranger)],
             "cache_is_stranger": ["--out", str(tmp_path / "o"), "--cache", str(stranger / "notes.txt")],
             "cache_is_template": ["--out", str(tmp_path / "o"), "--cache", str(template),
                                   "--prompt-template", str(template)]}[case]
    argv = _argv(good, str(data_dir if case == "out_inside_data_folder" else data), *flags)
    if case == "cache_is_template":
        argv.remove("--variant")
        argv.remove("instruct")
    before = {p: _bytes(p) for p in (data_dir, stranger)} | {template: template.read_bytes()}
    calls = good.call_count
    assert rewardbench.main(argv) == 2
    err = _one_line(capsys)
    assert ("--cache" if case.startswith("cache") else "--out") in err
    assert good.call_count == calls and not (tmp_path / "o").exists()
    assert {p: _bytes(p) for p in (data_dir, stranger)} | {template: template.read_bytes()} == before


def test_resuming_the_commands_own_out_and_cache_stays_allowed(good: LoopbackJudge, fixture_path: str,
                                                               tmp_path: Path) -> None:
    out, cache = tmp_path / "o", tmp_path / "shared.jsonl"
    for _ in range(2):
        assert rewardbench.main(_argv(good, fixture_path, "--out", str(out), "--cache", str(cache))) == 0
    assert _summary(out)["metadata"]["volatile"]["cache_hits"] == 46


@pytest.mark.parametrize("case", [
    "stranger_file",  # the issue: merge-caches --out overwrites any file
    "inside_shard",  # not in the issue: the merged cache written into a shard's folder
])
def test_merge_caches_out_never_replaces_a_stranger_or_an_input(case: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    shard = tmp_path / "shard-0"
    shard.mkdir()
    (shard / "generations.jsonl").write_text(_cache_line("k1", None))
    out = tmp_path / "notes.md" if case == "stranger_file" else shard / "merged.jsonl"
    if case == "stranger_file":
        out.write_text("# my notes\n")
    before = _bytes(tmp_path)
    assert _merge("--out", str(out), str(shard)) == 2
    assert "--out" in _one_line(capsys) and _bytes(tmp_path) == before
    merged = tmp_path / "merged.jsonl"  # an earlier merge is this command's own: replaced on a rerun
    for _ in range(2):
        assert _merge("--out", str(merged), str(shard)) == 0
    assert merged.read_text() == _cache_line("k1", None)


def test_merge_caches_reads_shard_folders(good: LoopbackJudge, fixture_path: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folders = [tmp_path / f"shard-{i}" for i in range(2)]
    for index, folder in enumerate(folders):
        assert rewardbench.main(_argv(good, fixture_path, "--out", str(folder), "--shard", f"{index}/2")) == 0
    merged = tmp_path / "merged.jsonl"
    capsys.readouterr()
    assert _merge("--out", str(merged), *map(str, folders)) == 0  # was "0 generations", exit 0
    assert "46 generations" in capsys.readouterr().out
    empty = tmp_path / "not-a-shard"  # not in the issue: a folder with no cache and no finished summary
    empty.mkdir()
    assert _merge("--out", str(tmp_path / "m2.jsonl"), str(empty)) == 2
    assert "did that shard's job finish" in _one_line(capsys)


@pytest.mark.parametrize("target", [
    "summary",  # the issue: compare --out A/summary.json overwrites run A
    "items",  # not in the issue: run B's items.jsonl
    "stranger",  # an existing file the command did not make
])
def test_compare_out_never_replaces_a_run_or_a_stranger(target: str, good: LoopbackJudge, always_b: LoopbackJudge,
                                                        fixture_path: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    run_a, run_b = tmp_path / "a", tmp_path / "b"
    assert rewardbench.main(_argv(good, fixture_path, "--out", str(run_a))) == 0
    assert rewardbench.main(_argv(always_b, fixture_path, "--out", str(run_b))) == 0
    stranger = tmp_path / "notes.md"
    stranger.write_text("# notes: mine\n")
    out = {"summary": run_a / "summary.json", "items": run_b / "items.jsonl", "stranger": stranger}[target]
    before = _bytes(tmp_path)
    capsys.readouterr()
    assert compare.main([str(run_a), str(run_b), "--out", str(out)]) == 2
    assert "--out" in _one_line(capsys) and _bytes(tmp_path) == before
    table = tmp_path / "compare.md"
    for _ in range(2):  # its own earlier table is replaced on a rerun
        assert compare.main([str(run_a), str(run_b), "--out", str(table), "--resamples", "100"]) == 0
    assert table.read_text().startswith("# rewardbench: A = ")


# --- 7. Smaller items ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resamples", [
    "1000000000",  # the issue: no upper bound (the bootstrap would run for days)
    "100001",  # not in the issue: one over the bound
])
def test_compare_resamples_is_bounded(resamples: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compare.main([str(tmp_path), str(tmp_path), "--resamples", resamples]) == 2
    assert f"argument --resamples: '{resamples}' is not a whole number from 100 to 100,000" in _one_line(capsys)


CHOICE = {"message": {"content": "first"}, "finish_reason": "stop"}


@pytest.mark.parametrize(("choices", "texts"), [
    ([{**CHOICE, "index": 1, "message": {"content": "second"}}, {**CHOICE, "index": 0}], ["first", "second"]),  # issue
    ([CHOICE, {**CHOICE, "message": {"content": "second"}}], ["first", "second"]),  # no index: list order
    ([{**CHOICE, "index": 2}, {**CHOICE, "index": 0}], None),  # not in the issue: an index missing (1)
    ([{**CHOICE, "index": 0}, {**CHOICE, "index": 0}], None),  # a repeated index
    ([{**CHOICE, "index": True}], None),  # a bool is not an index
])
def test_choices_are_read_by_index(choices: list[dict], texts: list[str] | None) -> None:
    body = {"choices": choices}
    if texts is None:
        with pytest.raises(TransientError, match="indices"):
            parse_completion(body, 1, 0.0, None)
    else:
        assert [c.text for c in parse_completion(body, 1, 0.0, None).choices] == texts


@pytest.mark.parametrize(("count", "asked"), [
    (3, None),  # the issue: 3 choices for n=1
    (3, 2),  # not in the issue: 3 choices when 2 were asked
])
def test_extra_choices_are_counted_and_refused(count: int, asked: int | None) -> None:
    sampling = {} if asked is None else {"n": asked}
    with LoopbackJudge("always_a", faults=lambda _: Fault.extra_choices(count)) as server:
        batch = chat_batch([[{"role": "user", "content": "Which?"}]], base_url=server.base_url, model=server.model,
                           sampling=sampling, return_exceptions=True)
    error = batch.results[0]
    assert isinstance(error, Exception) and f"sent {count} choices" in str(error)
    assert batch.usage.extra_choices == count - (asked or 1) and batch.usage.requests == 0


def test_an_eval_run_scores_extra_choices_as_failures_and_caches_none(fixture_path: str, tmp_path: Path) -> None:
    with LoopbackJudge(marker_policy("(checked)"), model="judge", faults=lambda _: Fault.extra_choices(3)) as server:
        assert rewardbench.main(_argv(server, fixture_path, "--out", str(tmp_path / "o"))) == 0
    summary = _summary(tmp_path / "o")
    assert summary["failures"]["skipped"] == {"rejected": 46} and summary["score"] == 0.0
    assert not (tmp_path / "o" / "generations.jsonl").exists()


@pytest.mark.parametrize("escape", [
    "\\ud800",  # the issue: a lone high surrogate from a server
    "\\udfff",  # not in the issue: a lone low surrogate
])
def test_a_lone_surrogate_from_a_server_never_crashes_the_cache(escape: str, fixture_path: str,
                                                                tmp_path: Path) -> None:
    raw = json.loads(f'"Broken {escape} text. <answer>[[A]]</answer>"')
    with LoopbackJudge(fixed_text(raw), model="judge") as server:
        assert rewardbench.main(_argv(server, fixture_path, "--out", str(tmp_path / "o"))) == 0
    text = (tmp_path / "o" / "generations.jsonl").read_bytes().decode("utf-8")  # valid UTF-8 throughout
    assert "Broken \ufffd text." in text and _summary(tmp_path / "o")["score"] == 0.5  # always A, read once


def test_a_lone_surrogate_from_any_backend_is_stored_as_a_replacement(tmp_path: Path) -> None:
    # not in the issue: a backend other than the HTTP one (the scripted or hf backend) hands one to the cache
    path = tmp_path / "gen.jsonl"
    with GenerationCache(path) as cache:
        cache.append(CachedGeneration("k", "a \ud800 b", "stop"))
    assert GenerationCache(path).records["k"].text == "a \ufffd b"


@pytest.mark.parametrize(("extra", "cached"), [
    (2_000_000, False),  # the issue: megabytes of answer are a failure, not a cache line
    (0, True),  # not in the issue: an answer at the limit (1 MiB for a small budget) is kept
])
def test_an_over_long_answer_is_a_failure_and_not_cached(extra: int, cached: bool, tmp_path: Path) -> None:
    verdict = "<answer>[[A]]</answer>"
    size = (1 << 20) - len(verdict) if extra == 0 else extra
    with LoopbackJudge(fixed_text("x" * size + verdict), model="judge") as server:
        data = tmp_path / "rows.jsonl"
        data.write_text(json.dumps({"id": 1, "prompt": "2 + 2?", "chosen": "4", "rejected": "5",
                                    "subset": "alpacaeval-easy", "chosen_model": "a", "rejected_model": "b"}) + "\n")
        assert rewardbench.main(_argv(server, str(data), "--out", str(tmp_path / "o"), "--max-new-tokens", "8")) == 0
    summary = _summary(tmp_path / "o")
    cache = tmp_path / "o" / "generations.jsonl"
    assert cache.exists() == cached
    assert (summary["failures"]["skipped"] == {"answer_too_long": 2}) != cached


# --- Issue 24 item 3: a shard's summary says it is one shard -------------------------------------------------------


@pytest.mark.parametrize(("cli", "shard"), [
    ("rewardbench", "1/3"),  # the issue: a single shard's summary printed a bare score
    ("run_all", "0/2"),  # not in the issue: run_all's combined report and its per-benchmark line
])
def test_a_shard_summary_says_it_covers_one_shard(cli: str, shard: str, good: LoopbackJudge, fixture_path: str,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval import run_all

    out = tmp_path / "o"
    index, count = shard.split("/")
    if cli == "rewardbench":
        assert rewardbench.main(_argv(good, fixture_path, "--out", str(out), "--shard", shard)) == 0
    else:
        argv = _argv(good, fixture_path, "--out", str(out), "--shard", shard)
        argv[argv.index("--data") + 1] = f"rewardbench={fixture_path}"
        assert run_all.main([*argv, "--benchmarks", "rewardbench"]) == 0
    said = f"shard {index} of {count}"
    printed = capsys.readouterr()
    summary = _summary(out / ("rewardbench" if cli == "run_all" else "."))
    assert summary["shard"] == shard and summary["complete"] is False
    report = (out / "report.md").read_text()
    if cli == "run_all":
        assert f"({said} only)" in printed.err and f"({said} only)" in report
        assert json.loads((out / "summary.json").read_text())["conventions"]["shard"] == shard
    else:
        assert f"{said.upper()} ONLY" in printed.out and f"{said.upper()} ONLY" in report


def test_a_local_judge_is_its_checkpoint_content_whatever_its_name(tiny_model_dir: Path, tmp_path: Path) -> None:
    # not in the issue: --model-name used to replace the fingerprint, so two checkpoints could share one identity
    from eval.backends.hf import HFBackend

    other = tmp_path / "other"
    other.mkdir()
    for file in tiny_model_dir.iterdir():
        if file.is_file():
            (other / file.name).write_bytes(file.read_bytes())
    weights = next(other.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one weight byte differs
    weights.write_bytes(bytes(data))
    ids = [HFBackend(folder, model_name="judge").model_id for folder in (tiny_model_dir, other)]
    assert ids[0] != ids[1] and all(i.startswith("hf:judge@ckpt-") for i in ids)
    assert HFBackend(tiny_model_dir).model_id.split(":")[1] == ids[0].split("@")[1]  # the name only adds a label


@pytest.mark.parametrize("target", [
    "data",  # not in the issue: released_template --out set to its own --data file
    "stranger",  # an existing file the command did not make
])
def test_released_template_out_never_replaces_its_data_or_a_stranger(target: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from eval import released_template

    system = "Judge. End with <answer>[[A]]</answer> if Chatbot A is better or <answer>[[B]]</answer> otherwise."
    user = ("[Client Question]\nWhat is 6 times 7?\n\n[The Start of Chatbot A's Response]\n42.\n[The End of Chatbot "
            "A's Response]\n\n[The Start of Chatbot B's Response]\n48.\n[The End of Chatbot B's Response]")
    data = tmp_path / "rl.jsonl"
    data.write_text(json.dumps({"context_messages": [{"role": "system", "content": system},
                                                     {"role": "user", "content": user}], "winner": "model_a"}) + "\n")
    stranger = tmp_path / "notes.txt"
    stranger.write_text("my notes\n")
    before = _bytes(tmp_path)
    out = data if target == "data" else stranger
    assert released_template.main(["--data", str(data), "--out", str(out)]) == 2
    assert "--out" in _one_line(capsys) and _bytes(tmp_path) == before
    mine = tmp_path / "template.txt"
    for _ in range(2):  # its own earlier template is replaced on a rerun
        assert released_template.main(["--data", str(data), "--out", str(mine)]) == 0
