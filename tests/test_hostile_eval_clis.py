"""Issue 12's failure classes against the eval CLIs added with issue 15 (each test failed before its fix).

The CLIs (`eval/rmbench.py`, `eval/rmb.py`, `eval/rewardbench2.py`, `eval/judgebench.py`,
`eval/run_all.py`, `eval/released_template.py`, `eval/compare.py`) run in process against a scripted
loopback judge on synthetic rows in each benchmark's schema. What the user sees is checked: the exit
code (2 bad input, 1 failed, 130 interrupted), one line without a traceback naming the input, no
request sent and nothing written for bad input.
"""

from __future__ import annotations

import collections
import copy
import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eval import session
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import fixed_text, marker_policy

MARK = "(checked)"  # the marker judge prefers the answer carrying it
ROWS: dict[str, dict[str, Any]] = {
    "rmbench": {"id": "r1", "prompt": "Name a colour of the sky.", "domain": "chat",
                "chosen": [f"Blue {MARK}", f"Blue, said at more length {MARK}", f"**Blue** {MARK}"],
                "rejected": ["Green", "Green, said at more length", "**Green**"]},
    "rewardbench2": {"id": "f1", "prompt": "What is 2 + 2?", "chosen": [f"4 {MARK}"], "rejected": ["5", "6", "7"],
                     "subset": "Factuality"},
    "judgebench": {"pair_id": "j1", "original_id": "o1", "source": "mmlu-pro-math", "question": "What is 2 + 2?",
                   "response_model": "m", "response_A": f"4 {MARK}", "response_B": "5", "label": "A>B"},
    "rmb": {"pair_uid": "p1", "conversation_input": [{"role": "user", "content": "Say hello.", "language": "en"}],
            "chosen": {"llm_name": "a", "answer": f"Hello! {MARK}"}, "reject": {"llm_name": "b", "answer": "No."},
            "category_path": "Helpfulness/Chat/Greeting"},
}
ID = {"rmbench": "id", "rewardbench2": "id", "judgebench": "pair_id", "rmb": "pair_uid"}
TEXT = {"rmbench": "prompt", "rewardbench2": "prompt", "judgebench": "question"}
RMB_FILE = Path("RMB_dataset") / "Pairwise_set" / "Helpfulness" / "Chat" / "Greeting.json"
# Each single CLI, and run_all choosing one benchmark (its --data NAME=PATH flag and its own checks).
CLIS = ["rmbench", "rmb", "rewardbench2", "judgebench", "run_all:judgebench", "run_all:rmb"]


@pytest.fixture(scope="module")
def judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy(MARK)) as server:
        yield server


def _bench(cli: str) -> str:
    return cli.split(":")[-1]


def _write(root: Path, bench: str, raw: bytes) -> Path:
    """The benchmark's data with ``raw`` as its one file: rows.jsonl, or RMB's folder layout around one .json."""
    if bench == "rmb":
        file = root / RMB_FILE
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(raw)
        return root / "RMB_dataset"
    root.mkdir(parents=True, exist_ok=True)
    (root / "rows.jsonl").write_bytes(raw)
    return root / "rows.jsonl"


def _rows(bench: str, rows: list[dict[str, Any]]) -> bytes:
    if bench == "rmb":
        return json.dumps(rows, indent=1).encode("utf-8")
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def _argv(cli: str, url: str, data: Path | str | None, out: Path, *extra: str) -> list[str]:
    argv = ["--base-url", url, "--model", "loopback-judge", "--variant", "instruct", "--no-progress", "--no-plots",
            "--out", str(out)]
    if cli.startswith("run_all"):
        argv += ["--benchmarks", _bench(cli)] + ([] if data is None else ["--data", f"{_bench(cli)}={data}"])
    elif data is not None:
        argv += ["--data", str(data)]
    return argv + list(extra)


def _main(cli: str) -> Callable[[list[str]], int]:
    return importlib.import_module(f"eval.{cli.split(':')[0]}").main


def _refused(capsys: pytest.CaptureFixture[str], *named: str) -> str:
    """The run printed one line (no traceback) naming each of ``named``."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(n in err for n in named), err
    return err


def _run_bad(cli: str, judge: LoopbackJudge, data: Path | str | None, out: Path, capsys: pytest.CaptureFixture[str],
             *named: str, extra: tuple[str, ...] = ()) -> str:
    """Bad input: exit 2, one line naming ``named``, no request, no report folder."""
    calls = judge.call_count
    assert _main(cli)(_argv(cli, judge.base_url, data, out, *extra)) == 2
    assert judge.call_count == calls
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
    return _refused(capsys, *named)


def _good(bench: str) -> bytes:
    return _rows(bench, [ROWS[bench]])


# --- Data files: one reader (infra.row_files), correct line numbers, every unreadable file one sentence ----------


def _huge_int(bench: str) -> bytes:
    text = _good(bench).decode()
    cut = text.rindex("}")
    return (text[:cut] + ', "n": ' + "9" * 5000 + text[cut:]).encode()


def _deep(bench: str) -> bytes:
    text = _good(bench).decode()
    cut = text.rindex("}")
    return (text[:cut] + ', "n": ' + "[" * 100_000 + "]" * 100_000 + text[cut:]).encode()


def _latin1_line_2(bench: str) -> bytes:
    row = dict(ROWS[bench], **{ID[bench]: "caf\u00e9"})
    first = json.dumps(ROWS[bench], ensure_ascii=False)
    second = json.dumps(row, ensure_ascii=False)
    if bench == "rmb":
        return f"[{first},\n{second}]".encode("latin-1")
    return f"{first}\n{second}\n".encode("latin-1")


def _bad_json_line_3(bench: str) -> bytes:
    if bench == "rmb":
        return f"[\n{json.dumps(ROWS[bench])},\n{{oops\n]".encode()
    return f"{json.dumps(ROWS[bench])}\n\n{{oops\n".encode()


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize(("content", "named"), [
    (_huge_int, "integer of more than 4,300 digits"),  # was a ValueError traceback (RMB and the .jsonl reader)
    (_deep, "nests JSON arrays or objects too deeply"),  # was a RecursionError traceback
    (_latin1_line_2, "line 2 is not UTF-8 text"),  # said only "invalid byte at offset N" (no line)
    (_bad_json_line_3, "line 3 is not valid JSON"),  # RMB printed the decoder's exception text
])
def test_an_unreadable_data_file_is_one_sentence_naming_its_line(
        cli: str, content: Callable[[str], bytes], named: str, judge: LoopbackJudge, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "d", _bench(cli), content(_bench(cli)))
    _run_bad(cli, judge, data, tmp_path / "o", capsys, named)


def test_a_folder_named_like_an_rmb_file_is_one_sentence(judge: LoopbackJudge, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "d", "rmb", _good("rmb"))
    (data / "Pairwise_set" / "Harmlessness" / "S1.json").mkdir(parents=True)  # was IsADirectoryError, exit 1
    _run_bad("rmb", judge, data, tmp_path / "o", capsys, "S1.json' is a folder, not a data file")


@pytest.mark.parametrize("cli", CLIS)
def test_an_unreadable_data_file_is_bad_input_not_a_failed_write(cli: str, judge: LoopbackJudge, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "d", _bench(cli), _good(_bench(cli)))
    real_open = Path.open

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:  # root ignores chmod, so the open itself says no
        if self.name in ("rows.jsonl", RMB_FILE.name):
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    _run_bad(cli, judge, data, tmp_path / "o", capsys, "cannot be read (Permission denied)")  # was exit 1, "writing"


# --- Rows: fields of the wrong type; refused before any folder or request (identical candidates are official rows,
# judged as published: tests/test_official_degenerate.py) ------------------------------------------------------


def _mutated(bench: str, **fields: Any) -> bytes:
    row = copy.deepcopy(ROWS[bench])
    row.update(fields)
    return _rows(bench, [row])


BAD_ROWS = [
    ("rmbench", {"id": None}, "has id None"),  # was judged as the id "None"
    ("rmbench", {"id": {"a": 1}}, "has id {'a': 1}"),  # was the id "{'a': 1}"
    ("rmbench", {"domain": ["chat"]}, "has domain ['chat']"),  # was TypeError: unhashable type: 'list'
    ("rmbench", {"prompt": None}, "line 1 of rows.jsonl (id r1) has prompt None"),  # named no line, made --out
    ("rewardbench2", {"id": True}, "has id True"),  # a bool is not an id
    ("rewardbench2", {"prompt": 5}, "has prompt 5"),
    ("judgebench", {"pair_id": None}, "has pair_id None"),
    ("judgebench", {"source": None}, "has source None"),  # was reported under the prefix "None"
    ("rmb", {"pair_uid": None}, "has pair_uid None"),
    ("rmb", {"category_path": None}, "has category_path None"),  # was the category "None"
]


@pytest.mark.parametrize(("bench", "fields", "named"), BAD_ROWS)
@pytest.mark.parametrize("via_run_all", [False, True])
def test_a_row_with_a_wrong_field_is_refused_before_any_folder_or_request(
        bench: str, fields: dict[str, Any], named: str, via_run_all: bool, judge: LoopbackJudge, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    cli = f"run_all:{bench}" if via_run_all else bench
    data = _write(tmp_path / "d", bench, _mutated(bench, **fields))
    _run_bad(cli, judge, data, tmp_path / "o", capsys, named, "so" if "same" not in named else "fix or drop")
    assert not (tmp_path / "o").exists()  # not even an empty folder


@pytest.mark.parametrize("cli", CLIS)
def test_a_lone_surrogate_escape_is_one_sentence(cli: str, judge: LoopbackJudge, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench(cli)
    raw = _good(bench).replace(b'"' + ROWS[bench][ID[bench]].encode() + b'"', b'"a\\ud800b"', 1)
    data = _write(tmp_path / "d", bench, raw)  # was UnicodeEncodeError hashing the input
    _run_bad(cli, judge, data, tmp_path / "o", capsys, "lone surrogate escape", "line 1" if bench != "rmb" else "row 1")


# --- Flags --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize(("extra", "named"), [
    (("--timeout", "inf"), "argument --timeout: 'inf' is not a finite number"),  # sent every request, then crashed
    (("--temperature", "nan"), "argument --temperature: 'nan' is not a finite number"),  # crashed keying the cache
    # RecursionError
    (("--chat-template-kwargs", "[" * 100_000 + "]" * 100_000), "nests JSON arrays or objects too deeply"),
    # a ValueError traceback
    (("--chat-template-kwargs", '{"a": ' + "9" * 5000 + "}"), "holds an integer of more than 4,300 digits"),
    (("--chat-template-kwargs", '{"a": "\\ud800"}'), "lone surrogate"),
])
def test_a_non_finite_or_unreadable_flag_value_is_refused_before_any_request(
        cli: str, extra: tuple[str, ...], named: str, judge: LoopbackJudge, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "d", _bench(cli), _good(_bench(cli)))
    _run_bad(cli, judge, data, tmp_path / "o", capsys, named, extra=extra)


@pytest.mark.parametrize(("extra", "named"), [
    (("--benchmarks", "judgebench,judgebench"), "names judgebench more than once"),  # silently deduplicated
    (("--benchmarks", "judgebench", "--data", "judgebench=a.jsonl", "--data", "judgebench=b.jsonl"),
     "--data is given twice for judgebench"),  # the last one silently won
])
def test_run_all_refuses_a_repeated_benchmark_name(extra: tuple[str, ...], named: str, judge: LoopbackJudge,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--out",
            str(tmp_path / "o"), *extra]
    assert _main("run_all")(argv) == 2
    _refused(capsys, named)


# --- Outputs: a full disk before any request; a resumed run must be the same run ------------------------------


@pytest.mark.parametrize("cli", CLIS)
def test_an_out_on_a_full_disk_is_refused_before_any_request(cli: str, judge: LoopbackJudge, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "d", _bench(cli), _good(_bench(cli)))
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr("eval.cli_common.shutil.disk_usage", lambda path: usage(1 << 30, 1 << 30, 0))
    calls = judge.call_count
    assert _main(cli)(_argv(cli, judge.base_url, data, tmp_path / "o")) == 2  # used to fail after the requests
    assert judge.call_count == calls
    _refused(capsys, "the disk is full", "free space")


@pytest.mark.parametrize("cli", CLIS)
def test_a_rerun_with_another_prompt_into_the_same_out_is_refused(cli: str, judge: LoopbackJudge, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "d", _bench(cli), _good(_bench(cli)))
    out = tmp_path / "o"
    assert _main(cli)(_argv(cli, judge.base_url, data, out)) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = judge.call_count
    argv = [a if a != "instruct" else "reasoning" for a in _argv(cli, judge.base_url, data, out)]
    assert _main(cli)(argv) == 2  # used to judge again and overwrite the report with another prompt's
    assert judge.call_count == calls
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    _refused(capsys, "holds a run with prompt 'instruct', not 'reasoning'", "--variant/--prompt-template")
    assert _main(cli)(_argv(cli, judge.base_url, data, out)) == 0  # the same command still resumes


def test_run_all_refuses_another_benchmark_set_in_the_same_out(judge: LoopbackJudge, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    jb = _write(tmp_path / "jb", "judgebench", _good("judgebench"))
    rb2 = _write(tmp_path / "rb2", "rewardbench2", _good("rewardbench2"))
    out = tmp_path / "o"
    base = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--no-progress",
            "--no-plots", "--out", str(out), "--data", f"judgebench={jb}"]
    assert _main("run_all")([*base, "--benchmarks", "judgebench"]) == 0
    capsys.readouterr()
    calls = judge.call_count
    assert _main("run_all")([*base, "--benchmarks", "judgebench,rewardbench2", "--data", f"rewardbench2={rb2}"]) == 2
    assert judge.call_count == calls
    _refused(capsys, "holds a run with benchmarks 'judgebench', not 'judgebench,rewardbench2'", "--benchmarks")


@pytest.mark.parametrize("cli", ["rmb", "run_all:rmb"])
def test_a_template_without_a_multi_turn_section_is_refused_before_any_request(
        cli: str, judge: LoopbackJudge, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    turns = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."},
             {"role": "user", "content": "Say bye."}]
    data = _write(tmp_path / "d", "rmb", _mutated("rmb", conversation_input=turns))
    template = tmp_path / "single.txt"
    template.write_text("=== user_single ===\n{question}\nA: {answer_a}\nB: {answer_b}\nEnd with {verdict_a} or "
                        "{verdict_b}.\n", encoding="utf-8")
    argv = [a for a in _argv(cli, judge.base_url, data, tmp_path / "o") if a not in ("--variant", "instruct")]
    calls = judge.call_count
    assert _main(cli)([*argv, "--prompt-template", str(template)]) == 2  # run_all used to judge others first
    assert judge.call_count == calls and not (tmp_path / "o").exists()
    _refused(capsys, "is a multi-turn pair", "no user_multi section")


@pytest.mark.parametrize("cli", ["rmbench", "run_all:judgebench"])
def test_a_cache_line_nested_too_deeply_is_counted_and_regenerated(cli: str, judge: LoopbackJudge,
                                                                   tmp_path: Path) -> None:
    data = _write(tmp_path / "d", _bench(cli), _good(_bench(cli)))
    out = tmp_path / "o"
    out.mkdir()
    (out / "generations.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert _main(cli)(_argv(cli, judge.base_url, data, out)) == 0  # was a RecursionError traceback
    summary = json.loads((out / (_bench(cli) if cli.startswith("run_all") else ".") / "summary.json").read_text())
    assert summary["metadata"]["volatile"]["cache_bad_lines"] == 1


# --- Secrets, Ctrl-C: the combined report of run_all -----------------------------------------------------------


def test_run_all_keeps_an_echoed_key_and_url_credentials_out_of_every_file(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-hostile-0123456789abcdef"
    monkeypatch.setenv("HOSTILE_EVAL_KEY", secret)
    data = _write(tmp_path / "d", "judgebench", _good("judgebench"))
    with LoopbackJudge(fixed_text(f"Key {secret}.\n<answer>[[A]]</answer>"), api_key=secret) as server:
        argv = _argv("run_all:judgebench", server.base_url, data, tmp_path / "o", "--api-key-env", "HOSTILE_EVAL_KEY")
        assert _main("run_all")(argv) == 0
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "o").rglob("*") if p.is_file()]
    assert len(texts) >= 6 and not [t for t in texts if secret in t]
    with LoopbackJudge(marker_policy(MARK)) as server:
        url = server.base_url.replace("http://", "http://alice:hunter2pw@")
        assert _main("run_all")(_argv("run_all:judgebench", url, data, tmp_path / "u")) == 0
    assert not [p for p in (tmp_path / "u").rglob("*") if p.is_file() and "hunter2pw" in p.read_text("utf-8")]


def test_run_all_ctrl_c_is_exit_130_and_the_rerun_resumes(judge: LoopbackJudge, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    jb = _write(tmp_path / "jb", "judgebench", _good("judgebench"))
    rb2 = _write(tmp_path / "rb2", "rewardbench2", _good("rewardbench2"))
    argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct", "--no-progress",
            "--no-plots", "--out", str(tmp_path / "o"), "--benchmarks", "judgebench,rewardbench2",
            "--data", f"judgebench={jb}", "--data", f"rewardbench2={rb2}"]
    import eval.run_all as run_all
    import eval.session as session

    real = session.evaluate

    def second_interrupted(benchmark: Any, *args: Any) -> Any:
        if benchmark.name == "rewardbench2":
            raise KeyboardInterrupt
        return real(benchmark, *args)

    monkeypatch.setattr(session, "evaluate", second_interrupted)
    calls = judge.call_count
    assert run_all.main(argv) == 130
    err = capsys.readouterr().err  # the finished benchmark's score line, then one error line
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("python eval/run_all.py: error: interr")
    assert judge.call_count == calls + 2  # judgebench's two orders
    monkeypatch.setattr(session, "evaluate", real)
    assert run_all.main(argv) == 0
    # nothing judged twice: rewardbench2's 3 comparisons x 2 orders, less the 2 prompts judgebench's row shares
    assert judge.call_count == calls + 2 + 4


# --- released_template.py ---------------------------------------------------------------------------------------


def _released(tmp_path: Path, messages: list[Any]) -> str:
    path = tmp_path / "released.jsonl"
    path.write_text(json.dumps({"context_messages": messages, "winner": "model_a"}) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("messages", "named"), [
    ([{"role": "user", "content": None}], "context_messages[0] is not a {role, content} pair"),  # TypeError
    ([{"role": "user", "content": 5}], "context_messages[0] is not a {role, content} pair"),  # TypeError
    ([{"content": "x"}, {"role": "user", "content": "y"}], "context_messages[0]"),  # KeyError: 'role'
])
def test_released_template_refuses_messages_that_are_not_texts(messages: list[Any], named: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    main = _main("released_template")
    assert main(["--data", _released(tmp_path, messages), "--out", str(tmp_path / "t.txt")]) == 2
    _refused(capsys, named)
    assert not (tmp_path / "t.txt").exists()


@pytest.mark.parametrize(("out", "named"), [
    (".", "holds --data"),  # was exit 1 after reading the data (then "is a folder")
    ("released.jsonl/t.txt", "is inside --data"),  # was FileExistsError traceback (then "which is a file")
])
def test_released_template_checks_out_before_reading(out: str, named: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    data = _released(tmp_path, [{"role": "user", "content": "y"}])
    assert _main("released_template")(["--data", data, "--out", str(tmp_path / out)]) == 2
    _refused(capsys, named)


# --- compare.py over runs of the new benchmarks -----------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, judge: LoopbackJudge) -> Path:
    """Two RM-Bench runs and a run_all folder, written once."""
    root = tmp_path_factory.mktemp("runs")
    data = _write(root / "d", "rmbench", _good("rmbench"))
    for name in ("a", "b"):
        assert _main("rmbench")(_argv("rmbench", judge.base_url, data, root / name)) == 0
    assert _main("run_all")(_argv("run_all:rmbench", judge.base_url, data, root / "all")) == 0
    return root


def _damaged(runs: Path, tmp_path: Path, file: str, edit: Callable[[bytes], bytes]) -> str:
    folder = tmp_path / "damaged"
    folder.mkdir()
    for name in ("summary.json", "items.jsonl"):
        (folder / name).write_bytes((runs / "b" / name).read_bytes())
    (folder / file).write_bytes(edit((folder / file).read_bytes()))
    return str(folder)


def _items_edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
        return "".join(json.dumps(change(row)) + "\n" for row in rows).encode()
    return edit


@pytest.mark.parametrize(("file", "edit", "named"), [
    ("summary.json", lambda raw: b"\xff" + raw, "is not UTF-8 text"),  # UnicodeDecodeError traceback
    # RecursionError
    ("summary.json", lambda raw: b"[" * 100_000 + b"]" * 100_000, "nests JSON arrays or objects too deeply"),
    # ValueError
    ("summary.json", lambda raw: b'{"a": ' + b"9" * 5000 + b"}", "holds an integer of more than 4,300 digits"),
    ("summary.json", lambda raw: b"[1, 2]", "lacks the top level"),  # TypeError
    ("summary.json", lambda raw: raw.replace(b'"metadata"', b'"meta"'), "lacks metadata.model"),  # KeyError
    ("items.jsonl", _items_edit(lambda row: {k: v for k, v in row.items() if k != "id"}), "no text id"),  # KeyError
    ("items.jsonl", _items_edit(lambda row: [row]), "line 1 is a JSON list"),  # TypeError
    ("items.jsonl", _items_edit(lambda row: dict(row, scores=None)), "no finite strict/mean_of_orders score"),
    ("items.jsonl", _items_edit(lambda row: dict(row, subset="zzz")), "subsets ['zzz'] that rmbench does not"),
    ("items.jsonl", lambda raw: raw + raw, "repeats the item id"),  # the second copy silently won
])
def test_compare_names_a_damaged_run(file: str, edit: Callable[[bytes], bytes], named: str, runs: Path,
                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main("compare")([str(runs / "a"), _damaged(runs, tmp_path, file, edit)]) == 2
    _refused(capsys, "python eval/compare.py: error: ", named)


@pytest.mark.parametrize(("extra", "named"), [
    # was a usage dump
    (["--resamples", "abc"], "'abc' is not a whole number from 100 to 100,000; see python eval/compare.py --help"),
    (["--seed", "-1"], "argument --seed: '-1' is not a whole number from 0 to 2**63-1"),  # numpy ValueError traceback
    (["--out", "."], "is an existing folder this command did not make"),  # exit 1 after the bootstrap
])
def test_compare_flags_are_one_line(extra: list[str], named: str, runs: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert _main("compare")([str(runs / "a"), str(runs / "b"), *extra]) == 2
    _refused(capsys, named)


def test_compare_points_from_a_run_all_folder_to_its_benchmark_folder(runs: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert _main("compare")([str(runs / "all"), str(runs / "b")]) == 2
    _refused(capsys, "combined report; pass one benchmark's folder", str(runs / "all" / "rmbench"))
    assert _main("compare")([str(runs / "all" / "rmbench"), str(runs / "b")]) == 0


# --- Help: every flag documented, the exit codes stated ---------------------------------------------------------


@pytest.mark.parametrize("cli", ["rmbench", "rmb", "rewardbench2", "judgebench", "run_all", "released_template",
                                 "compare"])
def test_help_documents_every_flag_and_the_exit_codes(cli: str) -> None:
    module = importlib.import_module(f"eval.{cli}")  # a benchmark CLI's main is session.main with its arguments
    parser = session.make_parser(*module.main.args) if hasattr(module, "BENCHMARK") else module.make_parser()
    assert [a.dest for a in parser._actions if not a.help] == []
    text = " ".join(parser.format_help().split())
    assert all(code in text for code in ("0 ", "2 a bad flag", "130 interrupted")), text[-400:]
    assert "1 the" in text  # exit 1 (a failed run or write) is stated too
