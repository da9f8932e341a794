"""build_parquet under hostile input: one sentence on stderr, the documented exit code, no traceback, nothing written.

Issue 12 item 32 (a full disk, a read-only --out and Ctrl-C are in test_data_atomic_build.py, which needs
signals and private mounts). Exit codes are infra.cli_errors': 2 bad input, 1 run failed, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep.adapters import InputFileError, read_local_pairs
from infra.row_files import RowFileError, iter_rows

REPO = Path(__file__).resolve().parents[1]
GOOD = {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"}


def _jsonl(*rows: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def _row_text(extra: str) -> bytes:
    """A JSON line whose metadata value is raw JSON text ``extra`` (too big or deep for json.dumps)."""
    return ('{"prompt": "q", "chosen": "a", "rejected": "b", "metadata": {"x": ' + extra + "}}\n").encode("utf-8")


# (file name, file bytes or None for "no file", extra flags, expected piece of the one-line message)
CASES = [
    # a latin-1 export: é is the single byte 0xe9
    ("in.jsonl", _jsonl(GOOD) + '{"prompt": "café", "chosen": "a", "rejected": "b"}\n'.encode("latin-1"), [],
     "'in.jsonl' line 2 is not UTF-8 text (byte 0xe9"),
    # the same in a .json list file: the line is found from the byte offset
    ("in.json", ('[{"prompt": "ol\xe9", "chosen": "a", "rejected": "b"}]').encode("latin-1"), [],
     "'in.json' line 1 is not UTF-8 text"),
    # a lone surrogate escape: valid JSON, but no UTF-8 writer can store the string
    ("in.jsonl", b'{"prompt": "bad \\ud800 text", "chosen": "a", "rejected": "b"}\n', [],
     "holds a lone surrogate escape (\\ud800)"),
    # a lone low surrogate in an answer
    ("in.jsonl", b'{"prompt": "q", "chosen": "x\\udc00", "rejected": "b"}\n', [],
     "line 1: chosen holds a lone surrogate"),
    # a 5,000-digit integer: Python refuses to convert more than 4,300 digits
    ("in.jsonl", _row_text("1" * 5000), [], "line 1 holds an integer of more than 4,300 digits"),
    # 100,000-deep nesting
    ("in.jsonl", _row_text("[" * 100_000 + "]" * 100_000), [], "line 1 nests JSON arrays or objects too deeply"),
    # a row that is not an object
    ("in.jsonl", b"[1, 2]\n", [], "line 1 is a JSON list; each row must be an object"),
    # --out is a file
    ("in.jsonl", _jsonl(GOOD), ["--out", "in.jsonl"], "--out 'in.jsonl' is a file; pass a folder"),
    # --out below a file
    ("in.jsonl", _jsonl(GOOD), ["--out", "in.jsonl/data"], "is inside 'in.jsonl', which is a file"),
    # --out the folder that holds the input (issue 25 item 2): the build would write beside and over its input
    ("in.jsonl", _jsonl(GOOD), ["--out", "."], "--out '.' holds --inputs 'in.jsonl'; writing there could destroy"),
    # --out inside a --decontaminate benchmark folder (a class not in the issue: an input that is a folder)
    ("bench/rb.jsonl", _jsonl(GOOD), ["--inputs", "bench/rb.jsonl", "--decontaminate", "rewardbench=bench",
                                      "--out", "bench/built"], "--out 'bench/built' is inside --decontaminate 'bench'"),
    # an empty --out (an unset shell variable) would build into the current folder
    ("in.jsonl", _jsonl(GOOD), ["--out", ""], "argument --out: is empty; pass the output folder"),
    # a token limit of 0 or below, refused by the flag type before anything is read
    ("in.jsonl", _jsonl(GOOD), ["--max-prompt-length", "0"], "'0' is not a whole number of 1 or more"),
    # --val-size inf / nan
    ("in.jsonl", _jsonl(GOOD), ["--val-size", "inf"], "--val-size inf is not a fraction in (0, 1)"),
    ("in.jsonl", _jsonl(GOOD), ["--val-size", "nan"], "--val-size nan is not a fraction in (0, 1)"),
    # a whole count that is not whole
    ("in.jsonl", _jsonl(GOOD), ["--val-size", "2.5"], "--val-size 2.5 is not a fraction"),
    # --distill-fraction out of range
    ("in.jsonl", _jsonl(GOOD), ["--distill-fraction", "1"], "--distill-fraction 1.0 is not in [0, 1)"),
    # a huge --seed (int64 in every row), and one too long for Python to convert at all
    ("in.jsonl", _jsonl(GOOD), ["--seed", str(2**63)], "'9223372036854775808' is not a whole number from 0 to 2**63-1"),
    ("in.jsonl", _jsonl(GOOD), ["--seed", "9" * 5000], "... (5,000 characters) is not a whole number"),
    ("in.jsonl", _jsonl(GOOD), ["--seed", "-1"], "'-1' is not a whole number from 0"),
    # a directory passed to --inputs is a folder, not "does not exist"
    ("sub/in.jsonl", _jsonl(GOOD), ["--inputs", "sub"], "input 'sub' passed to --inputs is a folder"),
    # an unknown flag: one line too, not usage + error
    ("in.jsonl", _jsonl(GOOD), ["--bogus"], "unrecognized arguments: --bogus; see python"),
    # a mix file in latin-1, and one nested too deeply for yaml
    ("mix.yaml", "name: caf\xe9\n".encode("latin-1"), ["--mix", "mix.yaml"], "mix 'mix.yaml' is not UTF-8 text"),
    ("mix.yaml", b"sources: " + b"[" * 50_000 + b"]" * 50_000, ["--mix", "mix.yaml"], "nests too deeply to read"),
    # --chat-template-kwargs nested too deeply to parse
    ("in.jsonl", _jsonl(GOOD), ["--chat-template-kwargs", "[" * 100_000], "nests JSON arrays or objects too deeply"),
    # --chat-template-kwargs holding NaN: a traceback from the manifest writer after the whole build (issue 19 item 4)
    ("in.jsonl", _jsonl(GOOD), ["--chat-template-kwargs", '{"t": NaN}'], "holds NaN, which is not a JSON number"),
    # ... and Infinity (not in the issue)
    ("in.jsonl", _jsonl(GOOD), ["--chat-template-kwargs", '{"t": -Infinity}'], "holds -Infinity, which is not a JSON"),
]


@pytest.mark.parametrize(("name", "content", "flags", "message"), CASES)
def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(tmp_path: Path, name: str, content: bytes,
                                                              flags: list[str], message: str) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_bytes(content)
    args = ["--inputs", name, "--val-size", "0.5", "--out", "data", "--no-progress"]
    for flag_at in range(0, len(flags), 2):  # a case's flag replaces the default one
        if flags[flag_at] in args:
            i = args.index(flags[flag_at])
            del args[i:i + 2]
    done = subprocess.run([sys.executable, "-m", "data_prep.build_parquet", *args, *flags], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=_env())
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("build_parquet: error: ") and message in lines[0], lines[:3]
    assert len(lines[0]) < 400  # a sentence, not a dump of the input
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("make", "message"), [
    # a variant folder the user made by hand: a build would have replaced it whole
    (lambda out: (out / "instruct").mkdir(parents=True) or (out / "instruct" / "notes.txt").write_text("mine"),
     "--out 'data' is an existing folder this command did not make"),
    # a variant folder another tool made (a manifest, but not this builder's)
    (lambda out: (out / "instruct").mkdir(parents=True) or (out / "instruct" / "manifest.json").write_text(
        '{"tool": "data_prep.released"}'), "--out 'data' is an existing folder this command did not make"),
    # --out a symlink to the folder holding the input
    (lambda out: out.symlink_to(out.parent), "--out 'data' holds --inputs 'in.jsonl'"),
])
def test_an_out_holding_what_the_build_did_not_make_is_kept(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "in.jsonl").write_bytes(_jsonl(GOOD, GOOD | {"prompt": "Name a prime."}))
    make(tmp_path / "data")
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    done = subprocess.run([sys.executable, "-m", "data_prep.build_parquet", "--inputs", "in.jsonl", "--val-size",
                           "0.5", "--variant", "instruct", "--out", "data", "--no-progress"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=_env())
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(REPO)}


# The reader's promise, for any bytes at all: rows, or one RowFileError; never another exception.
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=200),
                         st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       suffix=st.sampled_from([".jsonl", ".json"]))
def test_any_bytes_read_as_rows_or_one_user_error(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    try:
        rows = list(iter_rows(path))
    except RowFileError as err:
        assert "\n" not in str(err) and str(path) in str(err)
    else:
        assert all(isinstance(row, dict) for _, row in rows)
    try:
        list(read_local_pairs(path))
    except InputFileError:
        pass  # every failure of the local adapter is its user error (exit 2)
