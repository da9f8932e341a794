"""What a new user following the README sees when a flag or a path is wrong (found walking the README).

README "Exit codes (every CLI)": bad input is one sentence on stderr, exit 2, never a traceback or a
usage dump. These rows failed before: the launcher, the pipeline, launch/eval.sh and recipes.check
printed argparse's whole usage block; `launch/submit.sh --help` exited 2; `--ckpt PATH` naming no
folder was blamed on the prompt variant instead of the path.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


def _launcher(argv: Sequence[str]) -> int:
    from launch.submit import main

    return main(list(argv))


def _pipeline(argv: Sequence[str]) -> int:
    from infra.cli_errors import run_cli
    from launch.pipeline import PROG, main

    return run_cli(main, list(argv), prog=PROG)


def _eval_cluster(argv: Sequence[str]) -> int:
    from infra.cli_errors import run_cli
    from launch.cluster_eval.cli import PROG, main

    return run_cli(main, list(argv), prog=PROG)


def _recipes_check(argv: Sequence[str]) -> int:
    from recipes.check import main

    return main(list(argv))


CASES: list[tuple[str, Callable[[Sequence[str]], int], list[str], str]] = [
    # the per-model wrappers' launcher, given a flag it does not have
    ("launcher-unknown-flag", _launcher, ["rl_qwen7b", "--no-such-flag"], "--no-such-flag"),
    # the launcher without a recipe at all
    ("launcher-no-recipe", _launcher, [], "recipe"),
    # a knob flag whose value is not a number
    ("launcher-bad-int", _launcher, ["rl_qwen7b", "--local-gpus", "many"], "--local-gpus"),
    # the whole chain, with a model that is not one of the paper's
    ("pipeline-unknown-model", _pipeline, ["qwen99b"], "qwen99b"),
    # the whole chain, a flag it does not have
    ("pipeline-unknown-flag", _pipeline, ["qwen7b", "--no-such-flag"], "--no-such-flag"),
    # the cluster eval without its required --ckpt
    ("eval-sh-no-ckpt", _eval_cluster, [], "--ckpt"),
    # recipes.check with a flag it does not have
    ("check-unknown-flag", _recipes_check, ["rl_qwen7b", "--no-such-flag"], "--no-such-flag"),
    # recipes.check with nothing at all
    ("check-no-recipe", _recipes_check, [], "recipe"),
]


@pytest.mark.parametrize(("name", "cli", "argv", "named"), CASES, ids=[c[0] for c in CASES])
def test_bad_flags_are_one_line_exit_2(name: str, cli: Callable[[Sequence[str]], int], argv: list[str],
                                       named: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line: no usage block before it
    assert "usage:" not in err and "Traceback" not in err
    assert named in err and "--help" in err  # names the bad input and where the flags are listed
    assert "overrides" not in err  # the Hydra overrides are optional: never reported as required


def test_submit_sh_help_exits_0_and_no_recipe_exits_2(repo_root: Path) -> None:
    script = repo_root / "launch" / "submit.sh"
    asked = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, check=False)
    assert asked.returncode == 0 and "Usage: bash launch/submit.sh RECIPE" in asked.stdout
    bare = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    assert bare.returncode == 2 and bare.stderr.count("\n") == 1 and "no recipe" in bare.stderr


@pytest.mark.parametrize("ckpt", [
    "PATH",  # the README's placeholder, typed as is
    "no/such/export/hf",  # a typo'd export path
])
def test_ckpt_that_is_no_folder_is_named_not_the_prompt(ckpt: str, tmp_path: Path, monkeypatch) -> None:
    from eval.errors import EvalError
    from eval.judge_prompt import choose_prompt

    monkeypatch.chdir(tmp_path)
    with pytest.raises(EvalError, match=r"--ckpt '.*' is not a model folder"):
        choose_prompt(None, None, ckpt)


def test_folder_without_card_still_asks_for_variant(tmp_path: Path) -> None:
    from eval.errors import EvalError
    from eval.judge_prompt import choose_prompt

    with pytest.raises(EvalError, match="cannot tell which prompt"):  # a real folder: the card is what is missing
        choose_prompt(None, None, tmp_path)
