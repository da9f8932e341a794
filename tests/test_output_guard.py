"""infra.output_guard: an output path that is, holds or sits inside an input, or a stranger's file, is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.cli_errors import EXIT_USAGE, run_cli
from infra.output_guard import OutputClash, check_output


def _tree(root: Path) -> None:
    """data/ holds a file and a sub-folder; link -> data; new/ is absent."""
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "rows.jsonl").write_text("{}\n")
    (root / "mine").mkdir()
    (root / "mine" / "manifest.json").write_text("{}")
    (root / "stranger.txt").write_text("keep me")
    (root / "link").symlink_to(root / "data")


@pytest.mark.parametrize(("out", "inputs", "words"), [
    ("data/rows.jsonl", ["data/rows.jsonl"], "is --data"),  # --cache equal to the --data file
    ("link/rows.jsonl", ["data/rows.jsonl"], "is --data"),  # the same file reached through a symlink
    ("data", ["data/rows.jsonl"], "holds --data"),  # --out is the folder the input lives in
    (".", ["data/sub"], "holds --data"),  # --out a parent of an input folder
    ("data/sub/run", ["data"], "is inside --data"),  # --out inside the dataset folder
    ("link/new", ["data"], "is inside --data"),  # inside the dataset through a symlink, not yet existing
    ("data/rows.jsonl", ["elsewhere.jsonl", "data/rows.jsonl"], "is --data"),  # the second of several inputs
])
def test_collisions_with_an_input_are_refused(tmp_path, monkeypatch, out, inputs, words) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputClash) as caught:
        check_output("--out", out, [("--data", p) for p in inputs], ours=lambda _: True)
    message = str(caught.value)
    assert message.startswith(f"--out {out!r} {words}") and "pass " in message and message.count(". ") == 0


@pytest.mark.parametrize(("out", "inputs", "ours"), [
    ("new", ["data"], None),  # a path that does not exist yet, beside the input
    ("new/deeper/out", ["data/rows.jsonl"], None),  # nested new folders
    ("mine", ["data"], lambda p: (p / "manifest.json").exists()),  # our own earlier output: a rerun resumes
    ("datax", ["data"], None),  # a sibling whose name merely starts like the input's
    ("new", [None, "hub-owner/name"], None),  # no input path, and a hub id that is not a local path
])
def test_fresh_or_own_outputs_pass(tmp_path, monkeypatch, out, inputs, ours) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    check_output("--out", out, [("--data", p) for p in inputs], ours=ours)


@pytest.mark.parametrize(("out", "ours", "kind"), [
    ("stranger.txt", None, "file"),  # merge-caches --out over any existing file
    ("stranger.txt", lambda p: False, "file"),  # a file the caller does not recognise
    ("mine", lambda p: False, "folder"),  # a folder the caller does not recognise
    ("link", None, "folder"),  # a symlink to a folder counts as the folder
])
def test_existing_paths_not_ours_are_refused(tmp_path, monkeypatch, out, ours, kind) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputClash, match=rf"^--cache '{out}' is an existing {kind} this command did not make"):
        check_output("--cache", out, ours=ours)


def test_refusal_is_one_line_exit_2(tmp_path, capsys) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("{}")

    def main(argv):
        check_output("--cache", data, [("--data", data)])

    assert run_cli(main, [], prog="demo") == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--cache" in err and "--data" in err and "Traceback" not in err


_PART = st.sampled_from(["a", "b", "c"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data_parts=st.lists(_PART, min_size=1, max_size=3), out_parts=st.lists(_PART, min_size=1, max_size=4),
       via_link=st.booleans(), data_is_file=st.booleans())
def test_refused_exactly_when_the_real_paths_nest(tmp_path_factory, data_parts, out_parts, via_link,
                                                  data_is_file) -> None:
    """Model: refused iff one real path is a prefix (by components) of the other; a link changes nothing."""
    root = tmp_path_factory.mktemp("rel")
    data = root.joinpath(*data_parts)
    data.parent.mkdir(parents=True, exist_ok=True)
    if data_is_file:
        data.write_text("x")
    else:
        data.mkdir()
    (root / "alias").symlink_to(root)
    out = (root / "alias" if via_link else root).joinpath(*out_parts)
    shorter = min(len(data_parts), len(out_parts))
    nests = data_parts[:shorter] == out_parts[:shorter]
    try:
        check_output("--out", out, [("--data", data)], ours=lambda _: True)
        refused = False
    except OutputClash:
        refused = True
    assert refused == nests
    assert os.path.lexists(data)  # the check itself never touches anything
