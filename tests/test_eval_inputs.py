"""Inputs of `eval/rewardbench.py`: one-sentence errors and exit codes, the model card, template files, data sources."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eval import rewardbench
from testkit.loopback_judge import LoopbackJudge
from testkit.loopback_policies import marker_policy

ROW = {"id": 1, "prompt": "What is 2 + 2?", "chosen": "4 (checked)", "rejected": "5", "subset": "math-prm",
       "chosen_model": "a", "rejected_model": "b"}


@pytest.fixture(scope="module")
def judge() -> Iterator[LoopbackJudge]:
    with LoopbackJudge(marker_policy("(checked)")) as server:
        yield server


@pytest.fixture(scope="module")
def dead_url() -> str:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _card(folder: Path, front: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(f"---\n{front}\n---\n# A judge\n", encoding="utf-8")
    return str(folder)


def _main(argv: list[str], out: Path) -> int:
    return rewardbench.main([*argv, "--out", str(out), "--no-progress", "--no-plots"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "pass --variant instruct or --variant reasoning"),  # no variant and no model card
        (["--variant", "instruct", "--prompt-template", "t.txt"], 2, "either --variant or --prompt-template"),
        (["--prompt-template", "no/such/template.txt"], 2, "does not exist"),
        (["--variant", "instruct", "--data", "no/such.jsonl"], 2, "'no/such.jsonl' does not exist"),
        (["--variant", "instruct", "--data", "not a name"], 2, "neither an existing file"),
        (["--variant", "instruct", "--data", "BAD_COLUMNS"], 2, "lacks columns ['subset']"),
        (["--variant", "instruct", "--data", "BAD_SUBSET"], 2, "unknown subset 'anthropic_hhh'"),
        (["--variant", "instruct", "--data", "DUPLICATE_IDS"], 2, "the id '1' twice"),
        (["--variant", "instruct", "--chat-template-kwargs", "[1]"], 2, "'[1]' is not a JSON object"),
        (["--variant", "instruct", "--limit", "0"], 2, "argument --limit: '0' is not a whole number of 1 or more"),
        (["--variant", "instruct", "--api-key-env", "EVAL_TEST_UNSET_KEY"], 2, "EVAL_TEST_UNSET_KEY is empty or unset"),
        (["--variant", "instruct", "--base-url", "DEAD"], 1, "could not connect"),  # nobody listens
        (["--variant", "instruct", "--base-url", "ftp://x"], 2, "is not an http(s) URL"),
    ],
)
def test_bad_inputs_fail_with_one_sentence(args: list[str], code: int, message: str, judge: LoopbackJudge,
                                           dead_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"BAD_COLUMNS": _jsonl(tmp_path / "c.jsonl", [{k: v for k, v in ROW.items() if k != "subset"}]),
            "BAD_SUBSET": _jsonl(tmp_path / "s.jsonl", [{**ROW, "subset": "anthropic_hhh"}]),
            "DUPLICATE_IDS": _jsonl(tmp_path / "d.jsonl", [ROW, ROW])}
    argv = [data.get(a, dead_url if a == "DEAD" else a) for a in args]
    if "--data" not in argv:
        argv += ["--data", _jsonl(tmp_path / "ok.jsonl", [ROW])]
    if "--base-url" not in argv:
        argv += ["--base-url", judge.base_url]
    assert _main([*argv, "--model", "loopback-judge"], tmp_path / "out") == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("python eval/rewardbench.py: error: ") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "summary.json").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "hf"], "needs --ckpt"),  # a local backend without a checkpoint
        (["--backend", "vllm", "--ckpt", "."], "is not a model folder"),  # the repo root has no config.json
        (["--backend", "openai"], "--backend openai needs --base-url"),
        (["--backend", "hf", "--base-url", "http://127.0.0.1:1/v1"], "selects the openai backend"),
    ],
)
def test_backend_flags_are_checked_before_any_work(args: list[str], message: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["--variant", "instruct", "--data", "no/such.jsonl", *args], tmp_path) == 2
    assert message in capsys.readouterr().err


def test_variant_comes_from_the_model_card_never_the_path(judge: LoopbackJudge, tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [ROW])
    # The folder name says "reasoning"; the card says instruct: the card wins, the path is never read.
    card = "rm_r1:\n  prompt_variant: instruct\n  prompt_version: cor-v1"
    ckpt = _card(tmp_path / "RM-R1-DeepSeek-reasoning-7B", card)
    argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--ckpt", ckpt, "--data", data]
    assert _main(argv, tmp_path / "card") == 0
    prompt = json.loads((tmp_path / "card" / "summary.json").read_text())["metadata"]["config"]["prompt"]
    assert (prompt["source"], prompt["variant"], prompt["name"]) == ("model card", "instruct", "instruct")


def test_a_card_with_another_prompt_version_asks_for_the_template(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = _card(tmp_path / "old", "rm_r1:\n  prompt_variant: instruct\n  prompt_version: cor-v0")
    assert _main(["--base-url", "http://127.0.0.1:1/v1", "--model", "m", "--ckpt", ckpt], tmp_path / "o") == 2
    assert "pass the template it was trained on with --prompt-template" in capsys.readouterr().err


def test_a_template_file_is_versioned_by_its_content(judge: LoopbackJudge, repo_root: Path, tmp_path: Path) -> None:
    text = (repo_root / "data_prep" / "templates" / "instruct.txt").read_text(encoding="utf-8")
    template = tmp_path / "released.txt"
    template.write_text(text.replace("careful, impartial judge", "strict judge"), encoding="utf-8")
    data = _jsonl(tmp_path / "d.jsonl", [ROW])
    base = ["--base-url", judge.base_url, "--model", "loopback-judge", "--data", data]
    assert _main([*base, "--variant", "instruct"], tmp_path / "o") == 0
    calls = judge.call_count
    shared = ["--cache", str(tmp_path / "o" / "generations.jsonl")]  # one cache; another prompt needs another --out
    assert _main([*base, "--prompt-template", str(template), *shared], tmp_path / "o2") == 0
    assert judge.call_count == calls + 2  # another prompt: new cache keys, both orders generated again
    meta = json.loads((tmp_path / "o2" / "summary.json").read_text())["metadata"]
    assert meta["prompt_version"].startswith("file-") and meta["config"]["prompt"]["source"] == "--prompt-template"


def test_a_local_snapshot_folder_reads_the_requested_split(judge: LoopbackJudge, tmp_path: Path) -> None:
    folder = tmp_path / "snapshot" / "data"
    folder.mkdir(parents=True)
    rows = [{**ROW, "id": i} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), folder / "filtered-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(rows * 2), folder / "raw-00000-of-00001.parquet")  # another split
    argv = ["--base-url", judge.base_url, "--model", "loopback-judge", "--variant", "instruct",
            "--data", str(tmp_path / "snapshot")]
    assert _main(argv, tmp_path / "o") == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["metadata"]["counts"]["items"] == 3 and summary["metadata"]["inputs"][0]["revision"] is None


def test_the_hub_dataset_in_offline_mode_is_one_clear_sentence(repo_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "eval/rewardbench.py", "--variant", "instruct", "--base-url",
                           "http://127.0.0.1:1/v1", "--model", "m", "--out", str(tmp_path / "o")],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "allenai/reward-bench" in err[0] and "offline mode" in err[0], done.stderr
    assert "d61ac5c97d0f2f7eb922da3c0b6bbaf614ae8d02" in err[0]  # the pinned revision
