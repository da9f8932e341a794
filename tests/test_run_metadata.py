"""Run metadata: round trips, stable content hashes, atomic writes, file hashing, git lookup."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.run_metadata import (
    SCHEMA_VERSION,
    InputRef,
    OutputRef,
    RunMetadata,
    git_commit,
    now_volatile,
    sha256_file,
)
from reward_fns import VERDICT_FORMAT_VERSION

SHA = "ab" * 32


def _meta(**overrides: object) -> RunMetadata:
    base = RunMetadata(
        tool="data_prep.build_parquet",
        tool_version="0.1.0",
        git_commit="c" * 40,
        inputs=[InputRef("Skywork/Skywork-Reward-Preference-80K-v0.2", revision="main", sha256=None)],
        prompt_version="cor-v1",
        seed=42,
        model="Qwen/Qwen2.5-7B-Instruct",
        sampling={"temperature": 0.0, "max_tokens": 8192},
        config={"variant": "instruct", "max_prompt_length": 4096, "chat_template_kwargs": {}},
        counts={"rows": 10, "dropped": {"too_long": 2}},
        outputs=[OutputRef("train.parquet", SHA, rows=10)],
        volatile={"created_at": "2026-01-01T00:00:00+00:00", "host": "node1"},
    )
    return dataclasses.replace(base, **overrides)


def test_verdict_format_version_defaults_to_the_contract() -> None:
    assert RunMetadata(tool="t", tool_version="1").verdict_format_version == VERDICT_FORMAT_VERSION


def test_dict_and_file_round_trip(tmp_path: Path) -> None:
    meta = _meta()
    assert RunMetadata.from_dict(meta.to_dict()) == meta
    path = meta.write(tmp_path / "sub" / "manifest.json")
    assert RunMetadata.read(path) == meta


def test_file_format_is_sorted_indented_with_trailing_newline(tmp_path: Path) -> None:
    meta = _meta(config={"z": 1, "a": "é"})
    text = meta.write(tmp_path / "m.json").read_text(encoding="utf-8")
    assert text == json.dumps(meta.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert text.index('"a"') < text.index('"z"')
    assert meta.to_dict()["schema_version"] == SCHEMA_VERSION


def test_same_metadata_writes_identical_bytes(tmp_path: Path) -> None:
    first = _meta().write(tmp_path / "a.json").read_bytes()
    second = _meta().write(tmp_path / "b.json").read_bytes()
    assert first == second


def test_content_hash_ignores_volatile_and_dict_order() -> None:
    meta = _meta()
    other = _meta(
        volatile=now_volatile(duration_s=3.5),
        config=dict(reversed(list(meta.config.items()))),  # same settings, other insertion order
    )
    assert meta.content_hash() == other.content_hash()
    assert len(meta.content_hash()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"tool": "eval.rewardbench"},  # a different tool made it
        {"tool_version": "0.2.0"},  # a new release
        {"git_commit": None},  # unknown commit
        {"inputs": [InputRef("x.jsonl", sha256=SHA)]},  # other inputs
        {"prompt_version": "cor-v2"},  # the prompt changed
        {"verdict_format_version": "verdict-other"},  # the verdict format changed
        {"seed": 43},  # another seed
        {"model": "other"},  # another model
        {"sampling": {"temperature": 1.0, "max_tokens": 8192}},  # other sampling
        {"config": {"variant": "reasoning"}},  # other tool settings
        {"counts": {"rows": 11}},  # other counts
        {"outputs": [OutputRef("train.parquet", "cd" * 32, rows=10)]},  # other output bytes
        {"sampling": {"temperature": 0, "max_tokens": 8192}},  # int 0 vs float 0.0 is a real difference
    ],
)
def test_content_hash_changes_with_every_content_field(change: dict[str, object]) -> None:
    assert _meta(**change).content_hash() != _meta().content_hash()


def test_content_hash_is_pinned() -> None:
    # Changing the canonical form (or a field's default) silently would invalidate every recorded hash; this
    # digest was computed once and is written out, so such a change fails here and needs a new schema_version.
    meta = RunMetadata(tool="t", tool_version="1", verdict_format_version="verdict-v1")
    assert meta.content_hash() == "b8e95064635c5a964a9ce0988ab7380f188b255388521547ea8cac20b52e5f29"


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
_json_dicts = st.dictionaries(st.text(max_size=8), _json_values, max_size=4)


@given(
    sampling=_json_dicts,
    config=_json_dicts,
    counts=_json_dicts,
    volatile=_json_dicts,
    name=st.text(min_size=1),
    seed=st.none() | st.integers(),
)
def test_round_trip_through_json_text_for_any_json_values(
    sampling: dict, config: dict, counts: dict, volatile: dict, name: str, seed: int | None
) -> None:
    meta = _meta(sampling=sampling, config=config, counts=counts, volatile=volatile, inputs=[InputRef(name)], seed=seed)
    text = json.dumps(meta.to_dict(), sort_keys=True, indent=2, ensure_ascii=False)
    back = RunMetadata.from_dict(json.loads(text))
    assert back == meta
    assert back.content_hash() == meta.content_hash()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"config": {"stop": ("</answer>",)}}, "tuple"),  # tuples would come back as lists
        ({"counts": {"acc": float("nan")}}, "nan"),  # NaN is not JSON
        ({"sampling": {1: "x"}}, "key 1"),  # non-string keys would come back as strings
        ({"volatile": {"path": Path("x")}}, "PosixPath"),  # volatile must be JSON too
    ],
)
def test_non_json_values_are_rejected_by_name_and_leave_the_old_file(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    path = _meta().write(tmp_path / "m.json")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=named):
        _meta(**change).write(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temp file left behind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tool": "t", "tool_version": "1", "colour": "red"}, "unknown keys"),  # a typo'd or foreign key
        ({"tool": "t"}, "lacks required keys"),  # no version
        ({"tool": "t", "tool_version": "1", "schema_version": "run-metadata-v0"}, "schema"),  # old schema
        ({"tool": "t", "tool_version": "1", "inputs": ["x.jsonl"]}, r"inputs\[0\]"),  # a bare string input
        ({"tool": "t", "tool_version": "1", "outputs": [{"path": "a", "sha": SHA}]}, r"outputs\[0\]"),  # bad key
    ],
)
def test_bad_dicts_raise_one_clear_sentence(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        RunMetadata.from_dict(data)
    assert "\n" not in str(info.value)


def test_read_rejects_non_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        RunMetadata.read(path)


@pytest.mark.parametrize(
    "path",
    [
        "/abs/train.parquet",  # absolute machine path
        "../elsewhere/train.parquet",  # outside the manifest folder
    ],
)
def test_output_paths_must_stay_inside_the_manifest_folder(path: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        OutputRef(path, SHA)


def test_output_ref_for_file_is_relative_and_hashed(tmp_path: Path) -> None:
    data = tmp_path / "out" / "shards" / "part-0.parquet"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"rows")
    ref = OutputRef.for_file(data, tmp_path / "out", rows=1)
    assert ref == OutputRef("shards/part-0.parquet", hashlib.sha256(b"rows").hexdigest(), rows=1)


@pytest.mark.parametrize(
    "size",
    [
        0,  # empty file
        1,  # one byte
        (1 << 20) + 7,  # crosses the 1 MiB read chunk
    ],
)
def test_sha256_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    blob = os.urandom(size)
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    assert sha256_file(path) == hashlib.sha256(blob).hexdigest()


def test_git_commit_inside_a_repository(tmp_path: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    (tmp_path / "sub").mkdir()
    assert git_commit(tmp_path / "sub") == head.strip()


@pytest.mark.parametrize(
    "where",
    [
        "plain",  # a folder outside any repository
        "missing",  # a folder that does not exist
        "empty_repo",  # a repository with no commit yet
    ],
)
def test_git_commit_is_none_when_there_is_none(tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / where
    if where == "plain":
        target.mkdir()
    if where == "empty_repo":
        subprocess.run(["git", "init", "-q", str(target)], check=True)
    # GIT_CEILING_DIRECTORIES stops git from finding a repository above tmp_path on odd CI layouts.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_commit(target) is None


def test_git_commit_without_git_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable on PATH
    assert shutil.which("git") is None
    assert git_commit(".") is None


def test_now_volatile_has_utc_time_host_and_extras() -> None:
    vol = now_volatile(duration_s=1.5)
    assert datetime.fromisoformat(vol["created_at"]).utcoffset().total_seconds() == 0
    assert isinstance(vol["host"], str) and vol["host"]
    assert vol["duration_s"] == 1.5


def test_written_manifest_is_readable_by_others(tmp_path) -> None:
    """mkstemp creates 0600 files; a manifest on a shared filesystem must follow the umask instead."""
    import os
    import stat

    from infra.atomic_files import write_text_atomic

    old = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "manifest.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_atomic_path_leaves_nothing_behind_on_error(tmp_path) -> None:
    """A failed write keeps the old file and leaves no temp file; a good one replaces it."""
    import pytest

    from infra.atomic_files import atomic_path

    target = tmp_path / "data.bin"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer crashed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


@pytest.mark.parametrize(("text", "says"), [
    ("{not json", "is not valid JSON"),  # a torn or hand-edited manifest
    ("[" * 100_000, "nests JSON arrays or objects too deeply"),  # a RecursionError traceback before
    ('{"seed": ' + "1" * 5000 + "}", "an integer of more than 4,300 digits"),  # a ValueError from int() before
])
def test_reading_a_broken_manifest_is_one_sentence(tmp_path, text, says) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^run metadata file '{path}' .*{says}.*; rewrite it.$"):
        RunMetadata.read(path)
