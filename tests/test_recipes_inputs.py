"""``python -m recipes.check`` refuses data that cannot train (issue 24 item 5): exit 2, one sentence naming the fix.

It said OK (exit 0) for a recipe whose train file does not exist and for data that gives 0 steps per
epoch ("nothing would train" was only a warning). The plan is still printed first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.run_metadata import OutputRef, RunMetadata
from recipes.check import main


@pytest.fixture(autouse=True)
def _no_checkout_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RMR1_DATA_DIR", "RMR1_SFT_DATA_DIR", "RMR1_MODEL_PATH", "RMR1_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the relative defaults (data/rm_r1/...) resolve to nothing here


def _files(tmp: Path, *names: str) -> list[Path]:
    for name in names:
        (tmp / name).write_bytes(b"")
    return [tmp / name for name in names]


def _manifest(folder: Path, rows: int) -> Path:
    meta = RunMetadata(tool="data_prep.build_parquet", tool_version="0", prompt_version="cor-v1", seed=7,
                       config={"variant": "instruct", "tokenizer": "Qwen/Qwen2.5-7B-Instruct",
                               "max_prompt_length": 4096, "chat_template_kwargs": {}},
                       counts={"train": rows, "val": 8},
                       outputs=[OutputRef(path="train.parquet", sha256="0" * 64, rows=rows)])
    return meta.write(folder / "manifest.json")


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# (overrides beyond the recipe, the key named): each said OK, exit 0, before.
MISSING = [
    ([], "data.train_files"),  # neither default file exists (a fresh clone)
    (["data.train_files={tmp}/train.parquet"], "data.val_files"),  # the train file is there, validation is not
    (["data.train_files=[{tmp}/train.parquet,{tmp}/other.parquet]", "data.val_files={tmp}/val.parquet"],
     "other.parquet"),  # a list of train files with one missing
]


@pytest.mark.parametrize(("overrides", "names"), MISSING)
def test_a_missing_data_file_is_exit_2_naming_it(tmp_path, capsys, overrides, names) -> None:
    _files(tmp_path, "train.parquet", "val.parquet")
    code, out, err = _check(["rl_qwen7b", *(o.format(tmp=tmp_path) for o in overrides)], capsys)
    assert code == 2 and names in err and "does not exist; build the data first" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "steps " in out and "NOT READY" in out  # the plan is still printed


def test_an_sft_recipe_without_its_train_file_is_exit_2(capsys) -> None:
    code, _, err = _check(["sft_qwen7b"], capsys)
    assert code == 2 and "data.train_files data/rm_r1/sft/train.parquet does not exist" in err


def test_data_that_gives_0_steps_per_epoch_is_exit_2(tmp_path, capsys) -> None:
    train, val = _files(tmp_path, "train.parquet", "val.parquet")
    argv = ["rl_qwen7b", f"data.train_files={train}", f"data.val_files={val}", "--manifest"]
    code, _, err = _check([*argv, str(_manifest(tmp_path, rows=20))], capsys)
    assert code == 2 and "0 steps" in err and "data.train_batch_size" in err and len(err.strip().splitlines()) == 1
    code, out, err = _check([*argv, str(_manifest(tmp_path, rows=20_480))], capsys)
    assert (code, err) == (0, "") and out.rstrip().splitlines()[-1].startswith("OK: rl_qwen7b")
