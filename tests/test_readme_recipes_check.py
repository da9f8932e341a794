"""The README's recipes.check note on the bundled samples holds (issue 24: the README followed as written).

Following the README on a fresh clone, `python -m recipes.check rl_qwen7b` after building the samples
exits 2 (0 steps per epoch); the README said only that it "exits 2 for ... data that gives 0 steps",
without the command that passes on them. This runs the README's own command on sample-sized data.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from infra.run_metadata import OutputRef, RunMetadata
from recipes.check import main


def _readme_command(repo_root: Path) -> list[str]:
    readme = (repo_root / "README.md").read_text()
    found = re.search(r"On the bundled samples.*?`python -m recipes\.check ([^`]+)`", readme, re.DOTALL)
    assert found, "README 'Recipes' no longer shows the recipes.check command that passes on the samples"
    return shlex.split(found.group(1))


def test_the_readme_command_passes_on_sample_sized_data(repo_root, tmp_path, capsys, monkeypatch) -> None:
    for name in ("RMR1_DATA_DIR", "RMR1_SFT_DATA_DIR", "RMR1_MODEL_PATH", "RMR1_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the recipe's relative data/rm_r1/instruct/ defaults resolve here
    folder = tmp_path / "data" / "rm_r1" / "instruct"
    folder.mkdir(parents=True)
    for name in ("train.parquet", "val.parquet"):
        (folder / name).write_bytes(b"")
    # 20 train rows: what build_parquet writes for the bundled samples with the README's --val-size 0.2
    RunMetadata(tool="data_prep.build_parquet", tool_version="0", prompt_version="cor-v1", seed=0,
                config={"variant": "instruct", "tokenizer": "Qwen/Qwen2.5-7B-Instruct",
                        "max_prompt_length": 4096, "chat_template_kwargs": {}},
                counts={"train": 20, "val": 6},
                outputs=[OutputRef(path="train.parquet", sha256="0" * 64, rows=20)]).write(folder / "manifest.json")
    argv = _readme_command(repo_root)
    assert argv[0] == "rl_qwen7b"
    assert main(["rl_qwen7b"]) == 2 and "0 steps" in capsys.readouterr().err  # what the note warns of
    code = main(argv)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "") and out.rstrip().splitlines()[-1].startswith("OK: rl_qwen7b")
