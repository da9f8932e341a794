"""distill.py and released.py attacked with every failure class of the hardening issue (issue 12).

Each expected mistake is one sentence naming the input and the fix, the README's exit code (2 bad
input, 1 run failed, 130 interrupted), no traceback, and nothing written; outputs land all at once
or not at all; a killed run is undone by the next one; a second dataset never mixes into an --out;
no secret reaches a file or the console. The export CLI's cases are in tests/test_export_hostile.py.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.distill import released
from data_prep.distill import run as distill
from data_prep.distill.output import JOURNAL_KEY, STAGE_PREFIX
from infra.cli_errors import run_cli
from infra.staged_output import recover
from testkit.cor_policies import case_teacher, write_case_rows
from testkit.loopback_judge import LoopbackJudge
from testkit.signals import default_sigint

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "released"
CASES = [("correct", "A"), ("correct", "B"), ("wrong", "A"), ("correct", "A")]


@pytest.fixture(scope="module")
def judge():
    with LoopbackJudge(case_teacher) as server:
        yield server


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_case_rows(tmp_path / "distill.parquet", CASES)


def _call(main, argv, capsys) -> tuple[int, str, str]:
    code = run_cli(main, [str(a) for a in argv], prog="cli")
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_sentence(err: str) -> str:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _distill(judge, source: Path, out: Path, *extra) -> list:
    return ["--input", source, "--out", out, "--teacher-url", judge.base_url, "--teacher-model", judge.model,
            "--no-progress", "--max-tokens", "250", "--val-size", "1", *extra]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _stable(tree: dict[str, bytes]) -> dict[str, object]:
    """A tree with each manifest's volatile part (its creation time) left out, for comparing reruns."""
    out: dict[str, object] = dict(tree)
    for name, data in tree.items():
        if name.endswith("manifest.json"):
            out[name] = {k: v for k, v in json.loads(data).items() if k != "volatile"}
    return out


def _outputs(folder: Path) -> dict[str, bytes]:
    """The committed files (the cache grows by design; it is not output)."""
    return {k: v for k, v in _tree(folder).items() if not k.startswith("cache/")}


# --help documents every flag ------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", [distill, released])
def test_help_documents_every_flag(module) -> None:
    parser = module.make_parser()
    text = parser.format_help()
    for action in parser._actions:
        assert action.help, action.option_strings
        assert all(flag in text for flag in action.option_strings), action.option_strings


# distill: flag values ---------------------------------------------------------------------------------------------

BAD_DISTILL_FLAGS = [
    (["--max-concurrency", "0"], "--max-concurrency"),  # nothing would ever be asked
    (["--concurrency", "-3"], "--concurrency"),  # the eval CLIs' spelling of the same flag
    (["--timeout", "0"], "--timeout"),  # every attempt would time out at once
    (["--timeout", "inf"], "--timeout"),  # JSON cannot store it in the manifest (it failed after paying)
    (["--rpm", "inf"], "--rpm"),  # the same, for the pacing
    (["--rpm", "0"], "--rpm"),  # the pacer raised a ValueError traceback
    (["--rpm", "nan"], "--rpm"),
    (["--max-cost", "-1", "--price-prompt", "1", "--price-completion", "1"], "--max-cost"),
    (["--max-cost", "nan", "--price-prompt", "1", "--price-completion", "1"], "--max-cost"),
    (["--price-prompt", "-1", "--price-completion", "1"], "--price-prompt"),  # a negative price was accepted
    (["--price-prompt", "inf", "--price-completion", "1"], "--price-prompt"),
    (["--val-size", "nan"], "--val-size"),  # OverflowError / ValueError tracebacks after every request
    (["--val-size", "inf"], "--val-size"),
    (["--val-size", "-1"], "--val-size"),  # silently meant "no validation split"
    (["--val-size", "2.5"], "--val-size"),  # neither a share nor a count
    (["--seed", "9" * 40], "--seed"),  # beyond int64
    (["--seed", "-5"], "--seed"),
    (["--temperature", "nan"], "--temperature"),  # the request body could not be encoded: traceback
    (["--limit", "0"], "--limit"),
    (["--max-length", "0"], "--max-length"),
    (["--max-tokens", "0"], "--max-tokens"),
    (["--max-retries", "-1"], "--max-retries"),
    (["--sampling", '{"x": NaN}'], "--sampling"),  # NaN inside JSON: traceback when the request was encoded
    (["--sampling", "[" * 50_000 + "]" * 50_000], "--sampling"),  # RecursionError traceback
    (["--sampling", '{"x": ' + "9" * 5000 + "}"], "--sampling"),  # a 5,000-digit integer
    (["--sampling", '{"stream": true}'], "--sampling"),  # a streamed answer cannot be read as one reply
    (["--chat-template-kwargs", '{"a":'], "--chat-template-kwargs"),
    (["--max-concurrency", "8", "--no-such-flag"], "--no-such-flag"),  # usage dump before
]


@pytest.mark.parametrize(("extra", "flag"), BAD_DISTILL_FLAGS)
def test_distill_bad_flag_is_one_sentence_before_any_request(judge, source, tmp_path, capsys, extra, flag) -> None:
    judge.reset()
    out = tmp_path / "sft"
    code, _, err = _call(distill.main, _distill(judge, source, out, *extra), capsys)
    assert code == 2 and flag in _one_sentence(err)
    assert judge.call_count == 0 and not out.exists()


def test_distill_never_echoes_a_key_pasted_as_the_variable_name(judge, source, tmp_path, capsys) -> None:
    pasted = "sk-proj-Abc123def456ghi789"  # the key itself given to --api-key-env
    code, out, err = _call(distill.main, _distill(judge, source, tmp_path / "o", "--api-key-env", pasted), capsys)
    assert code == 2 and "NAME of an environment variable" in _one_sentence(err)
    assert pasted not in out + err and not (tmp_path / "o").exists()


# distill: inputs --------------------------------------------------------------------------------------------------

def _good_rows(tmp: Path) -> list[dict]:
    return pq.read_table(write_case_rows(tmp / "good.parquet", CASES)).to_pylist()


def _hostile_input(tmp: Path, case: str) -> Path:
    rows = _good_rows(tmp)
    first = json.dumps(rows[0])
    writers = {
        "folder": lambda p: p.mkdir(),
        "empty": lambda p: p.write_bytes(b""),
        "latin1": lambda p: p.write_bytes(first.replace("Question", "Qu\u00e9stion").encode("latin-1") + b"\n"),
        "invalid_json": lambda p: p.write_text(first[:-5] + "\n"),
        "huge_int": lambda p: p.write_text('{"prompt": ' + "9" * 5000 + "}\n"),
        "deep": lambda p: p.write_text("[" * 100_000 + "]" * 100_000 + "\n"),
        "surrogate": lambda p: p.write_text(first.replace("Question", "\\ud800") + "\n"),
    }
    tables = {
        "missing_columns": [{"prompt": r["prompt"]} for r in rows],
        "reward_model_string": [{**r, "reward_model": "A"} for r in rows],  # AttributeError traceback before
        "extra_info_string": [{**r, "extra_info": "x"} for r in rows],  # AttributeError traceback before
        "message_without_role": [{**r, "prompt": [{"content": "x"}]} for r in rows],  # KeyError traceback before
        "message_is_text": [{**r, "prompt": ["x"]} for r in rows],  # TypeError traceback before
        "role_is_a_number": [{**r, "prompt": [{"role": 5, "content": "x"}]} for r in rows],  # sent, then "failed"
        "data_source_number": [{**r, "data_source": 12} for r in rows],
        "no_rows": [],
    }
    if case in writers:
        path = tmp / f"{case}.jsonl"
        writers[case](path)
        return path
    path = tmp / f"{case}.parquet"
    schema = pq.read_schema(tmp / "good.parquet") if case == "no_rows" else None
    pq.write_table(pa.Table.from_pylist(tables[case], schema=schema), path)
    return path


@pytest.mark.parametrize(("case", "says"), [
    ("folder", "is a folder"),  # said "does not exist"
    ("empty", "has no rows"),  # an empty JSON-lines file
    ("latin1", "not UTF-8"),  # JSON-lines inputs go through infra.row_files
    ("invalid_json", "not valid JSON"),
    ("huge_int", "4,300 digits"),
    ("deep", "too deeply"),
    ("surrogate", "lone surrogate"),  # UnicodeEncodeError traceback at the parquet write, after paying
    ("missing_columns", "lacks columns"),
    ("reward_model_string", "reward_model"),
    ("extra_info_string", "extra_info"),
    ("message_without_role", "{role, content}"),
    ("message_is_text", "{role, content}"),
    ("role_is_a_number", "{role, content}"),
    ("data_source_number", "data_source"),
    ("no_rows", "has no rows"),
])
def test_distill_bad_input_is_one_sentence_before_any_request(judge, tmp_path, capsys, case, says) -> None:
    path = _hostile_input(tmp_path, case)
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, path, tmp_path / "sft"), capsys)
    assert code == 2 and says in _one_sentence(err) and path.name in err
    assert judge.call_count == 0 and not (tmp_path / "sft").exists()


def test_distill_rows_whose_extra_info_parquet_cannot_store_are_refused_first(judge, tmp_path, capsys) -> None:
    rows = _good_rows(tmp_path)
    rows[1]["extra_info"] = {**rows[1]["extra_info"], "index": "one"}  # int in one row, text in the next
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, path, tmp_path / "sft"), capsys)
    assert code == 2 and "cannot be stored in parquet" in _one_sentence(err) and judge.call_count == 0


# distill: --out ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("inside", [False, True])
def test_distill_out_that_is_a_file_is_refused_before_any_request(judge, source, tmp_path, capsys, inside) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, blocker / "sub" if inside else blocker), capsys)
    assert code == 2 and "a_file" in _one_sentence(err) and "is a file" in err  # was exit 1 after the cache
    assert judge.call_count == 0 and blocker.read_text() == "x"


def test_distill_read_only_out_is_refused_before_any_request(judge, source, tmp_path, capsys, monkeypatch) -> None:
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "sft"))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)  # where the staging folder is made
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, tmp_path / "sft"), capsys)
    assert code == 2 and "read-only" in _one_sentence(err) and judge.call_count == 0


def _fail_writing_val(monkeypatch, error: BaseException) -> None:
    """val.parquet (the second file) half-written, then ``error`` (a full disk, Ctrl-C)."""
    import data_prep.distill.output as output

    real = output.write_parquet_rows

    def failing(rows, path, *args, **kwargs):
        if Path(path).name == "val.parquet":
            Path(path).write_bytes(b"PAR1 half a file")
            raise error
        return real(rows, path, *args, **kwargs)

    monkeypatch.setattr(output, "write_parquet_rows", failing)


@pytest.mark.parametrize(("error", "code", "says"), [
    (OSError(errno.ENOSPC, "No space left on device"), 1, "disk is full"),  # disk full mid-write
    (KeyboardInterrupt(), 130, "interrupted"),  # Ctrl-C mid-write
])
def test_distill_failed_rerun_leaves_the_old_output_byte_identical(judge, source, tmp_path, capsys, monkeypatch,
                                                                     error, code, says) -> None:
    out = tmp_path / "sft"
    assert _call(distill.main, _distill(judge, source, out), capsys)[0] == 0
    before = _outputs(out)
    with monkeypatch.context() as patch:
        _fail_writing_val(patch, error)
        got, _, err = _call(distill.main, _distill(judge, source, out, "--seed", "3"), capsys)
    assert got == code and says in _one_sentence(err)
    assert _outputs(out) == before and not list(out.glob(STAGE_PREFIX + "*"))  # nothing new, nothing left over
    judge.reset()
    assert _call(distill.main, _distill(judge, source, out, "--seed", "3"), capsys)[0] == 0
    assert judge.call_count == 0  # the rerun resumes from the cache


KILL_AT_THIRD_RENAME = """
import os, signal, sys
import data_prep.distill.output as commit
from data_prep.distill import run as distill
from infra.cli_errors import run_cli
real = os.replace
def replace(a, b):
    # old train aside, new train in: kill as the old val is moved aside (whatever was renamed while staging)
    if '{stage}' in str(b) and str(b).endswith(os.path.join('old', 'val.parquet')):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(a, b)
commit.os.replace = replace
sys.exit(run_cli(distill.main, sys.argv[1:], prog="distill"))
"""


def test_distill_sigkill_mid_commit_is_undone_by_the_next_run(judge, source, tmp_path, capsys, repo_root) -> None:
    out = tmp_path / "sft"
    assert _call(distill.main, _distill(judge, source, out), capsys)[0] == 0
    before = _outputs(out)
    argv = [str(a) for a in _distill(judge, source, out, "--seed", "3")]
    child = subprocess.run([sys.executable, "-c", KILL_AT_THIRD_RENAME.replace("{stage}", STAGE_PREFIX), *argv],
                           cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert list(out.glob(STAGE_PREFIX + "*"))  # the kill left its staging folder (and a half-done swap)
    recover(out, STAGE_PREFIX, JOURNAL_KEY)  # what the next run does first, under the folder's lock
    assert _outputs(out) == before and not list(out.glob(STAGE_PREFIX + "*"))
    assert _call(distill.main, _distill(judge, source, out, "--seed", "3"), capsys)[0] == 0


def test_distill_refuses_an_out_made_from_another_input_or_teacher(judge, source, tmp_path, capsys) -> None:
    out = tmp_path / "sft"
    assert _call(distill.main, _distill(judge, source, out), capsys)[0] == 0
    before = _outputs(out)
    other = write_case_rows(tmp_path / "other.parquet", CASES[:3])
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, other, out), capsys)
    assert code == 2 and "input_sha256" in _one_sentence(err) and "another --out" in err
    with LoopbackJudge(case_teacher, model="another-teacher") as second:
        code, _, err = _call(distill.main, _distill(second, source, out), capsys)
        assert code == 2 and "teacher_model" in _one_sentence(err) and second.call_count == 0
    assert judge.call_count == 0 and _outputs(out) == before


def test_distill_refuses_an_out_holding_files_no_manifest_describes(judge, source, tmp_path, capsys) -> None:
    out = tmp_path / "sft"
    out.mkdir()
    (out / "train.parquet").write_bytes(b"someone else's data")
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, out), capsys)
    assert code == 2 and "train.parquet" in _one_sentence(err) and judge.call_count == 0
    assert (out / "train.parquet").read_bytes() == b"someone else's data"


# distill: the response cache ------------------------------------------------------------------------------------

def _cached(judge, source, tmp_path, capsys) -> Path:
    out = tmp_path / "sft"
    assert _call(distill.main, _distill(judge, source, out), capsys)[0] == 0
    return out / "cache" / "teacher_responses.jsonl"


@pytest.mark.parametrize("damage", [
    lambda d: {**d, "content": None},  # text null: used as the text "None" (or a TypeError) before
    lambda d: {**d, "content": 7},  # text a number
    lambda d: {**d, "completion_tokens": "many"},  # token counts of the wrong type
    lambda d: {**d, "prompt_tokens": True},
])
def test_distill_cache_lines_of_the_wrong_types_are_asked_again(judge, source, tmp_path, capsys, damage) -> None:
    cache = _cached(judge, source, tmp_path, capsys)
    lines = cache.read_text(encoding="utf-8").splitlines()
    lines[0] = json.dumps(damage(json.loads(lines[0])))
    cache.write_text("\n".join(lines) + "\n", encoding="utf-8")
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, tmp_path / "sft"), capsys)
    assert code == 0 and judge.call_count == 1, err  # only the damaged answer is paid for again


def test_distill_cache_line_nested_too_deeply_is_asked_again(judge, source, tmp_path, capsys) -> None:
    cache = _cached(judge, source, tmp_path, capsys)
    lines = cache.read_text(encoding="utf-8").splitlines()
    cache.write_text("\n".join(["[" * 100_000 + "]" * 100_000, *lines[1:]]) + "\n", encoding="utf-8")
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, tmp_path / "sft"), capsys)
    assert code == 0 and judge.call_count == 1, err  # a RecursionError traceback before


def test_distill_complete_last_answer_without_newline_is_kept(judge, source, tmp_path, capsys) -> None:
    cache = _cached(judge, source, tmp_path, capsys)
    cache.write_bytes(cache.read_bytes().rstrip(b"\n"))  # a kill after the record, before its newline
    judge.reset()
    assert _call(distill.main, _distill(judge, source, tmp_path / "sft"), capsys)[0] == 0
    assert judge.call_count == 0 and cache.read_bytes().endswith(b"}\n")  # it was cut off and paid again before


def test_distill_cache_pointed_at_someone_elses_file_is_refused_untouched(judge, source, tmp_path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("one line of notes, no newline")
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, tmp_path / "sft", "--cache", notes), capsys)
    assert code == 2 and "not a distill cache" in _one_sentence(err) and judge.call_count == 0
    assert notes.read_text() == "one line of notes, no newline"  # truncated to nothing before


@pytest.mark.parametrize("where", ["folder", "inside_file"])
def test_distill_cache_path_that_cannot_be_a_file_is_one_sentence(judge, source, tmp_path, capsys, where) -> None:
    (tmp_path / "a_file").write_text("x")
    path = tmp_path if where == "folder" else tmp_path / "a_file" / "cache.jsonl"
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, tmp_path / "sft", "--cache", path), capsys)
    assert code == 2 and "--cache" in _one_sentence(err) and judge.call_count == 0


def test_distill_teacher_answer_with_a_lone_surrogate_is_stored_as_text(source, tmp_path, capsys) -> None:
    def broken(prompt: str) -> str:  # a server whose JSON carries a lone \\ud800 escape
        return case_teacher(prompt).replace("<eval>", "<eval> \ud800 ", 1)

    with LoopbackJudge(broken) as server:
        code, _, err = _call(distill.main, _distill(server, source, tmp_path / "sft"), capsys)
    assert code == 0, err  # a UnicodeEncodeError traceback while caching before
    texts = [r["messages"][-1]["content"] for r in pq.read_table(tmp_path / "sft" / "train.parquet").to_pylist()]
    assert texts and all("\ufffd" in t for t in texts)


@pytest.mark.parametrize("module", [distill, released])
def test_an_empty_out_is_refused_not_taken_as_the_current_folder(module, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["--input", "x.parquet", "--teacher-url", "http://127.0.0.1:9/v1", "--teacher-model", "m"] \
        if module is distill else ["--inputs", str(RL), "--released-as", "prompts"]
    code, _, err = _call(module.main, [*argv, "--out", ""], capsys)  # e.g. --out "$UNSET_VARIABLE"
    assert code == 2 and "--out" in _one_sentence(err) and list(tmp_path.iterdir()) == []


def test_distill_unreachable_teacher_is_one_sentence_and_leaves_nothing(source, tmp_path, capsys) -> None:
    with LoopbackJudge(case_teacher) as server:
        url = server.base_url  # the port is closed again once the server stops
    code, _, err = _call(distill.main, ["--input", source, "--out", tmp_path / "sft", "--teacher-url", url,
                                        "--teacher-model", "m", "--no-progress", "--max-retries", "0"], capsys)
    assert code == 1 and "could not connect" in _one_sentence(err)  # the run failed, as in eval (README table)
    assert not (tmp_path / "sft").exists()  # an empty cache folder, file and lock were left before


def test_distill_wrong_key_is_one_sentence_never_echoed_and_leaves_nothing(source, tmp_path, capsys,
                                                                           monkeypatch) -> None:
    wrong = "sk-wrong-key-0123456789abcdef"
    monkeypatch.setenv("HOSTILE_WRONG_KEY", wrong)
    with LoopbackJudge(case_teacher, api_key="sk-the-right-key-000000") as server:  # its 401 echoes the key sent
        code, out, err = _call(distill.main, _distill(server, source, tmp_path / "sft", "--api-key-env",
                                                      "HOSTILE_WRONG_KEY"), capsys)
    assert code == 2 and "HOSTILE_WRONG_KEY" in _one_sentence(err) and wrong not in out + err
    assert not (tmp_path / "sft").exists()


def test_distill_template_kwargs_that_break_the_template_fail_before_any_request(judge, source, tmp_path, capsys,
                                                                                   tiny_model_dir) -> None:
    judge.reset()
    code, _, err = _call(distill.main, _distill(judge, source, tmp_path / "sft", "--tokenizer", tiny_model_dir,
                                                "--chat-template-kwargs", '{"tokenize": false}'), capsys)
    assert code == 2 and "--chat-template-kwargs" in _one_sentence(err)  # a TypeError traceback after paying before
    assert judge.call_count == 0 and not (tmp_path / "sft").exists()


def test_distill_ctrl_c_mid_pass_exits_130_without_traceback_and_the_rerun_resumes(tmp_path, capsys,
                                                                                    repo_root) -> None:
    import time

    source = write_case_rows(tmp_path / "distill.parquet", [("correct", "A"), ("correct", "B")] * 3)
    out = tmp_path / "sft"
    cache = out / "cache" / "teacher_responses.jsonl"
    with LoopbackJudge(case_teacher, delay_s=0.3) as slow:
        argv = [str(a) for a in _distill(slow, source, out, "--max-concurrency", "1")]
        child = subprocess.Popen([sys.executable, "data_prep/distill.py", *argv], cwd=repo_root,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not cache.exists() or cache.read_bytes().count(b"\n") < 2):
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupted" in _one_sentence(err)
    assert not (out / "train.parquet").exists() and not list(out.glob(STAGE_PREFIX + "*"))
    cached = cache.read_bytes().count(b"\n")
    with LoopbackJudge(case_teacher) as server:
        assert _call(distill.main, _distill(server, source, out), capsys)[0] == 0
        assert server.call_count == 6 - cached  # nothing asked twice


LONG = "x" * 5000  # longer than any path: ENAMETOOLONG tracebacks before
PART = "y" * 300 + "/file.parquet"  # one part longer than a file name can be


@pytest.mark.parametrize(("module", "argv", "flag"), [
    (distill, ["--input", LONG, "--out", "o"], "--input"),
    (distill, ["--input", PART, "--out", "o"], "--input"),
    (distill, ["--input", "x.parquet", "--out", LONG], "--out"),
    (distill, ["--input", "x.parquet", "--out", "o", "--cache", LONG], "--cache"),
    (distill, ["--input", "x.parquet", "--out", "o", "--tokenizer", LONG], "--tokenizer"),
    (released, ["--inputs", LONG, "--out", "o"], "--inputs"),
    (released, ["--inputs", "a/b@" + LONG, "--out", "o"], "--inputs"),  # a hub name with a 5,000-byte revision
    (released, ["--inputs", str(FIXTURES / "rl_instruct.jsonl"), "--out", LONG], "--out"),
    (released, ["--inputs", "@", "--out", "o"], "--inputs"),  # read the current folder as the dataset before
])
def test_paths_no_file_system_can_hold_are_one_sentence(module, argv, flag, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--teacher-url", "http://127.0.0.1:9/v1", "--teacher-model", "m"] if module is distill else []
    code, _, err = _call(module.main, [*argv, *extra], capsys)
    assert code == 2 and flag in _one_sentence(err) and list(tmp_path.iterdir()) == []


def test_distill_error_without_no_progress_is_still_one_line(source, tmp_path, repo_root) -> None:
    with LoopbackJudge(case_teacher) as server:
        url = server.base_url  # closed once the server stops
    child = subprocess.run([sys.executable, "data_prep/distill.py", "--input", str(source), "--out",
                            str(tmp_path / "sft"), "--teacher-url", url, "--teacher-model", "m", "--max-retries", "0"],
                           cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert child.returncode == 1 and "could not connect" in _one_sentence(child.stderr)  # a progress bar line before


# distill: secrets -------------------------------------------------------------------------------------------------

def test_distill_url_credentials_never_reach_a_file_or_the_console(source, tmp_path, capsys) -> None:
    password = "hunter2-url-password"

    def echoing(prompt: str) -> str:  # a server that repeats what it was sent, credentials included
        return case_teacher(prompt).replace("<eval>", f"<eval> (auth alice:{password}) ", 1)

    with LoopbackJudge(echoing) as server:
        url = server.base_url.replace("http://", f"http://alice:{password}@")
        argv = _distill(server, source, tmp_path / "sft")
        argv[argv.index("--teacher-url") + 1] = url
        code, out, err = _call(distill.main, argv, capsys)
        shown_url = server.base_url
    assert code == 0 and password not in out + err
    for name, data in _tree(tmp_path / "sft").items():
        assert password.encode() not in data, name  # cache, parquet and manifest
    manifest = json.loads((tmp_path / "sft" / "manifest.json").read_text())
    assert manifest["config"]["teachers"]["pass1"]["base_url"] == shown_url


def test_distill_api_key_echoed_in_a_200_answer_is_never_stored(source, tmp_path, capsys, monkeypatch) -> None:
    key = "sk-loopback-echoed-0123456789"
    monkeypatch.setenv("HOSTILE_TEACHER_KEY", key)

    def echoing(prompt: str) -> str:
        return case_teacher(prompt).replace("<eval>", f"<eval> your key {key} ", 1)

    with LoopbackJudge(echoing, api_key=key) as server:
        code, out, err = _call(distill.main, _distill(server, source, tmp_path / "sft", "--api-key-env",
                                                      "HOSTILE_TEACHER_KEY"), capsys)
    assert code == 0 and key not in out + err
    assert all(key.encode() not in data for data in _tree(tmp_path / "sft").values())


def test_distill_secret_fields_in_sampling_are_masked_in_the_manifest(judge, source, tmp_path, capsys) -> None:
    secret = "sk-in-sampling-0123456789"
    code, out, err = _call(distill.main, _distill(judge, source, tmp_path / "sft", "--sampling",
                                                  json.dumps({"top_p": 0.9, "extra_body": {"api_key": secret}})),
                           capsys)
    manifest = (tmp_path / "sft" / "manifest.json").read_text()
    assert code == 0 and secret not in manifest and secret not in out + err and '"top_p": 0.9' in manifest


# released ---------------------------------------------------------------------------------------------------------

def _released(inputs, out, *extra) -> list:
    return ["--inputs", inputs, "--out", out, *extra]


RL = FIXTURES / "rl_instruct.jsonl"
BAD_RELEASED_FLAGS = [
    (["--released-as", "prompts", "--val-size", "nan"], "--val-size"),  # ValueError traceback before
    (["--released-as", "prompts", "--val-size", "inf"], "--val-size"),  # OverflowError traceback before
    (["--released-as", "prompts", "--val-size", "-1"], "--val-size"),
    (["--released-as", "prompts", "--seed", "9" * 30], "--seed"),  # traceback and an empty instruct/ left behind
    (["--released-as", "prompts", "--seed", "-1"], "--seed"),
    (["--released-as", "prompts", "--source", "../../x y"], "--source"),
    (["--released-as", "prompts", "--source", ""], "--source"),
    (["--max-length", "0"], "--max-length"),
    (["--released-as", "prompts", "--val-sise", "1"], "--val-sise"),  # a usage dump before
]


@pytest.mark.parametrize(("extra", "flag"), BAD_RELEASED_FLAGS)
def test_released_bad_flag_is_one_sentence_and_writes_nothing(tmp_path, capsys, extra, flag) -> None:
    code, _, err = _call(released.main, _released(RL, tmp_path / "o", *extra), capsys)
    assert code == 2 and flag in _one_sentence(err) and not (tmp_path / "o").exists()


def _released_input(tmp: Path, case: str) -> Path:
    rows = [json.loads(line) for line in RL.read_text(encoding="utf-8").splitlines()]
    text = json.dumps(rows[0])
    path = tmp / f"{case}.jsonl"
    if case == "latin1":
        path.write_bytes(json.dumps(rows[0], ensure_ascii=False).replace("7 times", "caf\u00e9").encode("latin-1"))
    elif case == "surrogate":
        path.write_text("".join(json.dumps(r).replace("7 times", "\\udc80") + "\n" for r in rows))
    elif case == "huge_int":
        path.write_text(text.replace('"model_a"', "9" * 5000) + "\n")
    elif case == "deep":
        path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    elif case == "invalid_json":
        path.write_text(text[:-3] + "\n")
    elif case == "messages_text":
        path.write_text("".join(json.dumps({**r, "context_messages": "hi"}) + "\n" for r in rows))
    elif case == "winner_number":
        path.write_text("".join(json.dumps({**r, "winner": 3}) + "\n" for r in rows))
    elif case == "missing_column":
        path = tmp / f"{case}.parquet"
        pq.write_table(pa.table({"winner": ["model_a", "model_b"]}), path)
    return path


@pytest.mark.parametrize(("case", "says"), [
    ("latin1", "not UTF-8"),
    ("surrogate", "lone surrogate"),  # UnicodeEncodeError traceback before, in both modes
    ("huge_int", "4,300 digits"),
    ("deep", "too deeply"),
    ("invalid_json", "not valid JSON"),
    ("messages_text", "context_messages"),
    ("winner_number", "winner"),
    ("missing_column", "lacks columns"),
])
@pytest.mark.parametrize("mode", ["prompts", "pairs"])
def test_released_bad_input_is_one_sentence_and_writes_nothing(tmp_path, capsys, case, says, mode) -> None:
    path = _released_input(tmp_path, case)
    code, _, err = _call(released.main, _released(path, tmp_path / "o", "--released-as", mode), capsys)
    assert code == 2 and says in _one_sentence(err) and path.name in err and not (tmp_path / "o").exists()


def test_released_out_that_is_a_file_is_refused_first(tmp_path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = _call(released.main, _released(RL, blocker, "--released-as", "prompts"), capsys)
    assert code == 2 and "is a file" in _one_sentence(err)  # exit 1 "could not finish writing" before


def test_released_refuses_to_overwrite_the_data_builders_variant_folder(tmp_path, capsys) -> None:
    variant = tmp_path / "rm_r1" / "instruct"  # build_parquet's output, which --out data/rm_r1 would overwrite
    variant.mkdir(parents=True)
    (variant / "train.parquet").write_bytes(b"our own build")
    (variant / "manifest.json").write_text(json.dumps({"tool": "data_prep.build_parquet", "config": {}}))
    code, _, err = _call(released.main, _released(RL, tmp_path / "rm_r1", "--released-as", "prompts"), capsys)
    assert code == 2 and "do not mix" in _one_sentence(err)
    assert (variant / "train.parquet").read_bytes() == b"our own build"


def test_released_refuses_an_out_made_from_another_released_set(tmp_path, capsys) -> None:
    out = tmp_path / "sft"
    assert _call(released.main, _released(FIXTURES / "sft.jsonl", out), capsys)[0] == 0
    before = _tree(out)
    other = tmp_path / "other.jsonl"  # another SFT set (one row fewer)
    other.write_text("\n".join(FIXTURES.joinpath("sft.jsonl").read_text().splitlines()[:-1]) + "\n")
    code, _, err = _call(released.main, _released(other, out), capsys)
    assert code == 2 and "input_sha256" in _one_sentence(err)
    code, _, err = _call(released.main, _released(RL, out, "--released-as", "pairs"), capsys)
    assert code == 2 and "released_as" in _one_sentence(err)  # its manifest.json would replace the SFT one
    assert _tree(out) == before
    assert _call(released.main, _released(FIXTURES / "sft.jsonl", out), capsys)[0] == 0  # the same set: a rerun
    assert {k: v for k, v in _tree(out).items() if k.endswith(".parquet")} == {
        k: v for k, v in before.items() if k.endswith(".parquet")}  # the same bytes (the manifest has a new time)


def test_released_disk_full_mid_write_keeps_the_old_output(tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "o"
    assert _call(released.main, _released(RL, out, "--released-as", "prompts", "--val-size", "1"), capsys)[0] == 0
    before = _tree(out)
    import data_prep.distill.output as module

    real = module.write_parquet_rows

    def full(rows, path, *args, **kwargs):
        if Path(path).name == "val.parquet":
            Path(path).write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(rows, path, *args, **kwargs)

    monkeypatch.setattr(module, "write_parquet_rows", full)
    code, _, err = _call(released.main, _released(RL, out, "--released-as", "prompts", "--seed", "5"), capsys)
    assert code == 1 and "disk is full" in _one_sentence(err)
    assert _tree(out) == before and not list((out / "instruct").glob(STAGE_PREFIX + "*"))


def test_released_stale_staging_from_a_killed_run_is_removed_and_rolled_back(tmp_path, capsys) -> None:
    out = tmp_path / "o"
    assert _call(released.main, _released(RL, out, "--released-as", "prompts"), capsys)[0] == 0
    folder = out / "instruct"
    before = _tree(folder)
    stage = folder / f"{STAGE_PREFIX}killed"  # a kill after the old train.parquet was moved aside
    (stage / "old").mkdir(parents=True)
    (stage / "new").mkdir()
    os.replace(folder / "train.parquet", stage / "old" / "train.parquet")
    (folder / "train.parquet").write_bytes(b"the new half of a swap")
    (stage / "journal.json").write_text(json.dumps({"existed": {"train.parquet": True, "val.parquet": True,
                                                                "manifest.json": True}}))
    assert _call(released.main, _released(RL, out, "--released-as", "prompts"), capsys)[0] == 0
    assert _stable(_tree(folder)) == _stable(before) and not list(folder.glob(STAGE_PREFIX + "*"))
