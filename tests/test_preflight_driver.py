"""The preflight driver: stage output goes to per-stage logs, failures are shown and fail the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import preflight.driver as preflight


def _noisy_ok(work_dir: Path) -> str:
    print("library progress bar noise")
    os.write(2, b"child-process style stderr noise\n")  # fd-level output, as a subprocess would write
    return "fine\nreport line 1\nreport line 2"


def _broken(work_dir: Path) -> str:
    print("context before the crash")
    raise RuntimeError("the sample data is missing")


def test_failed_stage_fails_the_run_and_shows_its_log(tmp_path: Path, capfd) -> None:
    stages = [
        preflight.Stage("first", "noisy", _noisy_ok),
        preflight.Stage("second", "breaks", _broken),
        preflight.Stage("third", "still runs", _noisy_ok),
    ]
    assert preflight.run(stages, tmp_path) is False
    out = capfd.readouterr().out
    assert "noise" not in out.split("--- last lines")[0]  # the passing stage's noise stays in its log
    assert "    report line 1\n    report line 2\n" in out  # report lines printed after the summary
    assert "FAILED" in out and "RuntimeError: the sample data is missing" in out
    assert "context before the crash" in out  # the failing stage's log tail is shown
    assert out.count("ok in") == 2 and "preflight FAILED: 3 stages" in out
    assert "child-process style stderr noise" in (tmp_path / "first.log").read_text()


def test_unknown_stage_name_is_rejected(capsys) -> None:
    from infra.cli_errors import run_cli

    assert run_cli(preflight.main, ["--only", "nope"], prog="python -m preflight") == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and err.count("\n") == 1


def test_stages_are_plain_callables_in_one_list() -> None:
    names = [stage.name for stage in preflight.STAGES]
    assert {"reward", "data", "eval", "launch"} <= set(names) and len(set(names)) == len(names)
    assert all(callable(stage.run) and stage.run.__name__ == "run_stage" for stage in preflight.STAGES)


def test_make_preflight_command_rejects_a_bad_flag_in_one_line(repo_root: Path) -> None:
    """`make preflight` runs `python -m preflight`; a bad flag is one usage error and exit 2, no stage runs."""
    done = subprocess.run([sys.executable, "-m", "preflight", "--only", "nope"], cwd=repo_root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert "invalid choice: 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_policy_stage_checks_the_judge_reward_and_the_monitor(tmp_path: Path) -> None:
    """The policy stage (issue 22): the scripted batch scores +1/-1/-1/-1 and the monitor flags two rollouts."""
    from preflight import policy_stage

    summary = policy_stage.run_stage(tmp_path)
    assert "scores +1 -1 -1 -1" in summary
    assert "verdict_share 0.25, master_key_share 0.25" in summary and "agreement 1," in summary
