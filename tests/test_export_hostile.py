"""``python -m launch.export`` attacked with issue 12's failure classes, on small fake checkpoints (no verl merge).

verl's merger is replaced by a stand-in that writes two files, so these tests cover what the CLI does
around it: flags, the --out checks, hostile checkpoint files, the hub token, the card, and landing
the folder all at once (Ctrl-C, a full disk, SIGKILL). The real merge is in tests/test_export.py.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.cli_errors import run_cli
from launch.export import cli as export

TOKEN = "hf_HostileTestToken0123456789"


@pytest.fixture(autouse=True)
def _no_checkout_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RMR1_MODEL_PATH", raising=False)
    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(tmp_path / "data"))  # never the checkout's data/
    monkeypatch.delenv("HF_TOKEN", raising=False)


def _run(tmp: Path) -> Path:
    """An SFT run folder in verl's layout with one complete step (3) of world size 1."""
    step = tmp / "run" / "global_step_3"
    (step / "huggingface").mkdir(parents=True)
    (step / "fsdp_config.json").write_text('{"world_size": 1}')
    with zipfile.ZipFile(step / "model_world_size_1_rank_0.pt", "w") as shard:  # torch's archive format
        shard.writestr("shard/data.pkl", b"weights")
        shard.writestr("shard/version", b"3")
    (step / "huggingface" / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    (tmp / "run" / "latest_checkpointed_iteration.txt").write_text("3")
    return tmp / "run"


def _fake_merge(step, target: Path) -> None:
    (target / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    (target / "model.safetensors").write_bytes(b"weights of step %d" % step.step)


def _call(argv, capsys) -> tuple[int, str, str]:
    code = run_cli(export.main, [str(a) for a in argv], prog="export")
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_sentence(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning:")]
    assert "Traceback" not in err and len(lines) == 1, err
    return err


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_help_documents_every_flag() -> None:
    parser = export.parser()
    text = parser.format_help()
    for action in parser._actions:
        assert action.help and all(flag in text for flag in action.option_strings), action.option_strings


@pytest.mark.parametrize(("extra", "says"), [
    (["--step", "-1"], "--step"),  # said "has no global_step_-1"
    (["--step", "9" * 5000], "--step"),  # a usage dump with the 5,000 digits
    (["--stpe", "3"], "--stpe"),  # a usage dump
    (["--push-to", "not a repo!!"], "--push-to"),  # accepted by the dry run
])
def test_bad_flags_are_one_sentence(tmp_path, capsys, monkeypatch, extra, says) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, _, err = _call([_run(tmp_path), "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--dry-run", *extra],
                         capsys)
    assert code == 2 and says in _one_sentence(err)


@pytest.mark.parametrize(("which", "says"), [("ckpt_dir", "ckpt_dir"), ("--out", "--out"), ("--spec", "--spec")])
def test_paths_no_file_system_can_hold_are_one_sentence(tmp_path, capsys, which, says) -> None:
    long = str(tmp_path / ("x" * 5000))  # ENAMETOOLONG tracebacks before
    run = _run(tmp_path)
    argv = {"ckpt_dir": [long, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b"],
            "--out": [run, "--out", long, "--recipe", "sft_qwen7b"],
            "--spec": [run, "--out", tmp_path / "hf", "--spec", long]}[which]
    code, _, err = _call(argv, capsys)
    assert code == 2 and says in _one_sentence(err)


# (what --out is, the flags, what the message says): each refused before any merge, nothing deleted.
BAD_OUTS = [
    ("file", [], "is a file"),  # was exit 1 after the checks, "a part of the path is not a directory"
    ("inside_file", [], "which is a file"),
    ("the_run", ["--force"], "holds the checkpoint"),  # --force would have deleted the checkpoint
    ("parent_of_run", ["--force"], "holds the checkpoint"),
    ("inside_step", ["--force"], "is inside the checkpoint"),
    ("not_an_export", ["--force"], "no export of this project wrote"),  # --force would have deleted someone's folder
    ("non_empty", [], "no export of this project wrote"),
    ("source_checkout", ["--force"], "no export of this project wrote"),  # a README.md alone counted as an export
    # issue 25: a model folder (config.json beside weights) counted as an earlier export, so --force deleted it
    ("a_model", ["--force"], "no export of this project wrote"),
    # issue 25: an export of ours plus the user's own file: --force deleted the file with the export
    ("export_plus_notes", ["--force"], "no export of this project wrote"),
    ("empty_text", ["--force"], "is empty"),  # --out "$UNSET": the current folder, deleted with --force
]


@pytest.mark.parametrize(("case", "flags", "says"), BAD_OUTS)
def test_bad_out_is_refused_before_merging_and_nothing_is_deleted(tmp_path, capsys, monkeypatch, case, flags,
                                                                  says) -> None:
    run = _run(tmp_path)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("years of work")
    (tmp_path / "checkout").mkdir()
    (tmp_path / "checkout" / "README.md").write_text("# a project")
    (tmp_path / "checkout" / "config.json").write_text("{}")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "model" / "model.safetensors").write_bytes(b"someone's weights")
    _card(tmp_path / "ours", files=["config.json"])
    (tmp_path / "ours" / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path / "checkout")
    out = {"file": tmp_path / "a_file", "inside_file": tmp_path / "a_file" / "hf", "the_run": run,
           "parent_of_run": tmp_path, "inside_step": run / "global_step_3" / "hf", "not_an_export": tmp_path / "notes",
           "non_empty": tmp_path / "notes", "source_checkout": tmp_path / "checkout", "empty_text": "",
           "a_model": tmp_path / "model", "export_plus_notes": tmp_path / "ours"}[case]
    before = _tree(tmp_path)
    merges = []
    monkeypatch.setattr(export, "merge_with_verl", lambda step, target: merges.append(step))
    code, _, err = _call([run, "--out", out, "--recipe", "sft_qwen7b", *flags], capsys)
    assert code == 2 and says in _one_sentence(err)
    assert merges == [] and _tree(tmp_path) == before


def test_read_only_out_is_refused_before_merging(tmp_path, capsys, monkeypatch) -> None:
    import infra.staged_output as out_mod

    run = _run(tmp_path)
    merges = []
    monkeypatch.setattr(export, "merge_with_verl", lambda step, target: merges.append(step))
    monkeypatch.setattr(out_mod.os, "access", lambda path, mode: False)  # as on a read-only mount (root ignores modes)
    code, _, err = _call([run, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b"], capsys)
    assert code == 2 and "cannot be written" in _one_sentence(err) and merges == []  # failed after the checks before


def _hostile(run: Path, case: str) -> None:
    step = run / "global_step_3"
    files = {
        "tracker_latin1": (run / "latest_checkpointed_iteration.txt", "caf\u00e9".encode("latin-1")),
        "tracker_huge": (run / "latest_checkpointed_iteration.txt", b"9" * 5000),
        "world_inf": (step / "fsdp_config.json", b'{"world_size": 1e400}'),
        "world_zero": (step / "fsdp_config.json", b'{"world_size": 0}'),
        "world_negative": (step / "fsdp_config.json", b'{"world_size": -1}'),
        "world_billion": (step / "fsdp_config.json", b'{"world_size": 1000000000}'),
        "world_text": (step / "fsdp_config.json", b'{"world_size": "1"}'),
        "world_deep": (step / "fsdp_config.json", b"[" * 100_000 + b"]" * 100_000),
        "config_deep": (step / "huggingface" / "config.json", b"[" * 100_000 + b"]" * 100_000),
        "config_latin1": (step / "huggingface" / "config.json", '{"architectures": ["Qw\u00e9n"]}'.encode("latin-1")),
    }
    path, data = files[case]
    path.write_bytes(data)


@pytest.mark.parametrize(("case", "code", "says"), [
    ("tracker_latin1", 0, "(step 3,"),  # UnicodeDecodeError traceback before; an unreadable marker is ignored
    ("tracker_huge", 0, "(step 3,"),  # ValueError traceback (int digits limit) before
    ("world_inf", 2, "no complete checkpoint"),  # OverflowError traceback before
    ("world_zero", 2, "no complete checkpoint"),  # counted as complete before, the merge then failed
    ("world_negative", 2, "no complete checkpoint"),
    ("world_billion", 2, "no complete checkpoint"),  # a billion file checks before
    ("world_text", 2, "no complete checkpoint"),
    ("world_deep", 2, "no complete checkpoint"),  # RecursionError traceback before
    ("config_deep", 2, "too deeply"),  # RecursionError traceback before
    ("config_latin1", 2, "cannot be read as JSON"),
])
def test_hostile_checkpoint_files_are_one_sentence(tmp_path, capsys, case, code, says) -> None:
    run = _run(tmp_path)
    _hostile(run, case)
    got, out, err = _call([run, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--dry-run"], capsys)
    assert got == code and says in (out if code == 0 else _one_sentence(err)) and "Traceback" not in err


@pytest.mark.parametrize(("content", "says"), [
    (b"[" * 100_000 + b"]" * 100_000, "too deeply"),  # RecursionError traceback before
    ('{"recipe": "caf\u00e9"}'.encode("latin-1"), "cannot be read"),
    (b'["a", "list"]', "cannot be read"),  # a spec that is not an object
])
def test_hostile_launch_spec_is_one_sentence(tmp_path, capsys, content, says) -> None:
    spec = tmp_path / "run.spec.json"
    spec.write_bytes(content)
    code, _, err = _call([_run(tmp_path), "--out", tmp_path / "hf", "--spec", spec, "--dry-run"], capsys)
    assert code == 2 and says in _one_sentence(err)


# the hub token --------------------------------------------------------------------------------------------------

def test_a_token_pasted_as_token_env_is_never_printed(tmp_path, capsys) -> None:
    code, out, err = _call([_run(tmp_path), "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--push-to", "me/judge",
                            "--token-env", TOKEN, "--dry-run"], capsys)
    assert code == 2 and "NAME of an environment variable" in _one_sentence(err) and TOKEN not in out + err


def test_dry_run_names_the_variable_never_the_token(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, out, err = _call([_run(tmp_path), "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--push-to", "me/judge",
                            "--dry-run"], capsys)
    assert code == 0 and "$HF_TOKEN" in out and TOKEN not in out + err


def test_a_hub_error_that_echoes_the_token_is_redacted(tmp_path, capsys) -> None:
    class EchoingHub:
        def __init__(self, token: str) -> None:
            self.token = token

        def create_repo(self, **kwargs) -> None:
            raise RuntimeError(f"401 Unauthorized: token {self.token} is invalid")

    folder = tmp_path / "hf"
    folder.mkdir()
    with pytest.raises(export.RunFailed) as caught:
        export.push(folder, "me/judge", TOKEN, private=True, api_factory=EchoingHub)
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.__cause__ is None  # the echoing exception is not chained into a traceback either


def test_card_masks_secret_overrides_and_url_credentials(tmp_path, capsys) -> None:
    spec = tmp_path / "run.spec.json"
    spec.write_text(json.dumps({"recipe": "sft_qwen7b", "mode": "train", "overrides": [
        "+trainer.wandb_api_key=hunter2-secret", "+data.mirror=http://alice:hunter3pw@mirror.example/x",
        "trainer.total_epochs=2"]}))
    code, out, err = _call([_run(tmp_path), "--out", tmp_path / "hf", "--spec", spec, "--dry-run"], capsys)
    assert code == 0 and "trainer.total_epochs=2" in out  # the card (printed by the dry run) keeps plain overrides
    assert "hunter2-secret" not in out + err and "hunter3pw" not in out + err and "wandb_api_key=***" in out


# landing the folder -----------------------------------------------------------------------------------------------

def _exported(tmp: Path, capsys, monkeypatch) -> tuple[Path, Path, dict[str, bytes]]:
    run = _run(tmp)
    monkeypatch.setattr(export, "merge_with_verl", _fake_merge)
    out = tmp / "hf"
    assert _call([run, "--out", out, "--recipe", "sft_qwen7b"], capsys)[0] == 0
    return run, out, _tree(out)


@pytest.mark.parametrize(("error", "code", "says"), [
    (KeyboardInterrupt(), 130, "interrupted"),  # Ctrl-C while merging
    (OSError(errno.ENOSPC, "No space left on device"), 1, "disk is full"),  # a full disk while merging
    # safetensors' own error type for a full disk (seen on a real full tmpfs): a traceback before
    (RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"), 1, "disk is full"),
])
def test_a_failed_forced_export_keeps_the_old_one_and_leaves_no_partial(tmp_path, capsys, monkeypatch, error, code,
                                                                         says) -> None:
    run, out, before = _exported(tmp_path, capsys, monkeypatch)

    def failing(step, target: Path) -> None:
        (target / "model.safetensors").write_bytes(b"half")
        raise error

    monkeypatch.setattr(export, "merge_with_verl", failing)
    got, _, err = _call([run, "--out", out, "--recipe", "sft_qwen7b", "--force"], capsys)
    assert got == code and says in _one_sentence(err)
    assert _tree(out) == before and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".hf")) == []


def _card(folder: Path, files: list[str], **facts) -> None:
    """An export's folder as this project writes one: the listed files and a card with its provenance."""
    from infra.model_card import CardFacts, render

    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).write_text("{}")
    facts = {"stage": "sft", "recipe": "sft_qwen7b", "step": 1, "prompt_variant": "instruct",
             "prompt_version": "cor-v1", "verdict_version": "v", "exported_at": "2026-01-01", "files": files, **facts}
    (folder / "README.md").write_text(render(CardFacts(**facts)))


def test_an_out_holding_another_export_is_refused_naming_it(tmp_path, capsys, monkeypatch) -> None:
    run = _run(tmp_path)
    out = tmp_path / "hf"
    _card(out, ["config.json"], step=1)  # an export of step 1; this command exports step 3
    before = _tree(out)
    code, _, err = _call([run, "--out", out, "--recipe", "sft_qwen7b"], capsys)
    assert code == 2 and "an export of sft_qwen7b step 1" in _one_sentence(err) and "--force" in err
    assert _tree(out) == before


@pytest.mark.parametrize("other", [
    {"stage": "rl", "recipe": "rl_qwen7b"},  # issue 25: the pipeline's --force replaced an export of another stage
    {"recipe": "sft_qwen14b"},  # the same stage of another recipe
])
def test_force_replaces_only_an_export_of_the_same_stage(tmp_path, capsys, monkeypatch, other) -> None:
    run = _run(tmp_path)
    out = tmp_path / "hf"
    _card(out, ["config.json"], **other)
    before = _tree(out)
    monkeypatch.setattr(export, "merge_with_verl", _fake_merge)
    code, _, err = _call([run, "--out", out, "--recipe", "sft_qwen7b", "--force"], capsys)
    assert code == 2 and "only an earlier export of the same stage" in _one_sentence(err)
    assert _tree(out) == before


def test_force_never_replaces_the_runs_base_model(tmp_path, capsys, monkeypatch) -> None:
    """The base model is an export of ours (an SFT export an RL run started from): --force deleted it."""
    run = _run(tmp_path)
    base = tmp_path / "base"
    _card(base, ["config.json"])
    (base / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    monkeypatch.setenv("RMR1_MODEL_PATH", str(base))
    before = _tree(base)
    monkeypatch.setattr(export, "merge_with_verl", _fake_merge)
    code, _, err = _call([run, "--out", base, "--recipe", "sft_qwen7b", "--force"], capsys)
    assert code == 2 and "is the run's base model" in _one_sentence(err)
    assert _tree(base) == before


def test_a_rerun_keeps_the_same_export_and_force_replaces_it(tmp_path, capsys, monkeypatch) -> None:
    run, out, before = _exported(tmp_path, capsys, monkeypatch)
    assert "README.md" in before
    merges = []
    monkeypatch.setattr(export, "merge_with_verl", lambda step, target: merges.append(step))
    code, printed, _ = _call([run, "--out", out, "--recipe", "sft_qwen7b"], capsys)
    assert code == 0 and "already holds this export" in printed and merges == [] and _tree(out) == before
    monkeypatch.setattr(export, "merge_with_verl", _fake_merge)
    assert _call([run, "--out", out, "--recipe", "sft_qwen7b", "--force"], capsys)[0] == 0


class _Hub:
    """A hub stand-in: records uploads; fails the first upload when told to (a network error mid-push)."""

    def __init__(self, calls: list[str], fail: bool) -> None:
        self.calls, self.fail = calls, fail

    def create_repo(self, **kwargs) -> None:
        pass

    def upload_folder(self, **kwargs) -> None:
        if self.fail:
            raise ConnectionError("connection reset")
        self.calls.append(kwargs["folder_path"])

    def upload_file(self, **kwargs) -> None:
        pass


def test_after_a_failed_push_the_suggested_rerun_uploads_the_kept_export(tmp_path, capsys, monkeypatch) -> None:
    """Issue 25: the rerun the message suggested was refused (--out exists) and there was no push-only path."""
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    run, out, calls = _run(tmp_path), tmp_path / "hf", []
    hub = _Hub(calls, fail=True)
    monkeypatch.setattr("huggingface_hub.HfApi", lambda token: hub)
    monkeypatch.setattr(export, "merge_with_verl", _fake_merge)
    argv = [run, "--out", out, "--recipe", "sft_qwen7b", "--push-to", "me/judge"]
    code, _, err = _call(argv, capsys)
    assert code == 1 and "rerun the same command" in _one_sentence(err) and TOKEN not in err
    kept, merges, hub.fail = _tree(out), [], False
    monkeypatch.setattr(export, "merge_with_verl", lambda step, target: merges.append(step))
    code, printed, _ = _call(argv, capsys)
    assert code == 0 and merges == [] and calls == [str(out)] and _tree(out) == kept
    assert "uploaded" in printed and TOKEN not in printed


@pytest.mark.parametrize("value", [TOKEN, "ghp_0123456789abcdefABCDEF0123456789abcd"])
def test_a_token_passed_as_push_to_is_never_echoed(tmp_path, capsys, value) -> None:
    """Issue 25 item 7: the token pasted into --push-to was repeated in the error."""
    code, out, err = _call([_run(tmp_path), "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--push-to", value,
                            "--dry-run"], capsys)
    assert code == 2 and "--push-to" in _one_sentence(err) and value not in out + err


def test_an_export_already_writing_beside_out_is_said(tmp_path, capsys, monkeypatch) -> None:
    run = _run(tmp_path)
    out = tmp_path / "exports" / "hf"
    out.parent.mkdir()
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another export into the same folder, still running
        monkeypatch.setattr(export, "merge_with_verl", _fake_merge)
        code, _, err = _call([run, "--out", out, "--recipe", "sft_qwen7b"], capsys)
        assert code == 2 and "another export is writing" in _one_sentence(err) and not out.exists()
    finally:
        os.close(fd)


def test_a_killed_exports_staging_folder_is_removed_by_the_next_export(tmp_path, capsys, monkeypatch) -> None:
    dead = tmp_path / ".hf.commit-killed" / "new" / "hf"  # what SIGKILL during a merge leaves beside --out
    dead.mkdir(parents=True)
    (dead / "model.safetensors").write_bytes(b"x" * 1000)
    _run_dir, out, _ = _exported(tmp_path, capsys, monkeypatch)
    assert not dead.exists() and (out / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".hf")] == []


KILL_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
from launch.export import cli as export
import infra.staged_output as staged
def merge(step, target):
    (target / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    (target / "model.safetensors").write_bytes(b"new weights")
export.merge_with_verl = merge
real, calls = os.replace, []
def replace(a, b):
    calls.append(a)
    if len(calls) == 3:  # the journal is written, the old export set aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
    return real(a, b)
staged.os.replace = replace
from infra.cli_errors import run_cli
sys.exit(run_cli(export.main, sys.argv[1:], prog="export"))
"""


def test_sigkill_between_the_two_renames_is_undone_by_the_next_run(tmp_path, capsys, monkeypatch, repo_root) -> None:
    from infra.staged_output import recover

    run, out, _ = _exported(tmp_path, capsys, monkeypatch)
    _card(out, ["config.json", "model.safetensors"], step=1)  # an earlier step's export: --force replaces it
    before = _tree(out)
    env = {**os.environ, "RMR1_SFT_DATA_DIR": str(tmp_path / "data")}
    child = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(run), "--out", str(out), "--recipe",
                            "sft_qwen7b", "--force"], cwd=repo_root, env=env, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert not out.exists()  # killed with the old export set aside
    recover(tmp_path, ".hf.commit-", "existed")  # what the next export does first
    assert _tree(out) == before and not [p for p in tmp_path.iterdir() if p.name.startswith(".hf.")]
    assert _call([run, "--out", out, "--recipe", "sft_qwen7b", "--force"], capsys)[0] == 0


@pytest.mark.parametrize(("content", "says"), [
    (b"[" * 100_000 + b"]" * 100_000, "too deeply"),  # RecursionError traceback before
    (b'{"benchmark": "rewardbench", "score": ' + b"9" * 5000 + b"}", "cannot be read"),
    ("caf\u00e9".encode("latin-1"), "cannot be read"),
])
def test_model_card_eval_summary_that_cannot_be_read_is_one_sentence(tmp_path, capsys, content, says) -> None:
    from infra.model_card import CardFacts, render
    from launch.export.card_eval import main

    (tmp_path / "README.md").write_text(render(CardFacts(stage="sft", recipe="sft_qwen7b", step=3,
                                                         prompt_variant="instruct", prompt_version="cor-v1",
                                                         verdict_version="v")))
    summary = tmp_path / "summary.json"
    summary.write_bytes(content)
    before = (tmp_path / "README.md").read_bytes()
    code = run_cli(main, [str(tmp_path), "--eval", str(summary)], prog="model_card")
    assert code == 2 and says in _one_sentence(capsys.readouterr().err)
    assert (tmp_path / "README.md").read_bytes() == before


def _safetensors(header: bytes, body: bytes = b"") -> bytes:
    return len(header).to_bytes(8, "little") + header + body


def _zip(members: dict[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_TENSOR = b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'


# (file in the step folder, its bytes): each was a traceback from inside torch or safetensors (issue 25 item 5).
DAMAGED = [
    ("model_world_size_1_rank_0.pt", b""),  # an empty shard (the disk filled mid-save)
    ("model_world_size_1_rank_0.pt", b"PK\x03\x04garbage"),  # a truncated archive: its directory is gone
    ("model_world_size_1_rank_0.pt", b"\x80\x02garbage pickle"),  # garbage in place of an archive
    ("model_world_size_1_rank_0.pt", _zip({"notes.txt": b"x"})),  # a zip archive, but not torch's
    ("huggingface/model.safetensors", b""),  # an empty safetensors file
    ("huggingface/model.safetensors", _safetensors(_TENSOR, b"\0" * 4)),  # cut short: 4 of 8 data bytes
    ("huggingface/model.safetensors", b"\xff" * 8 + b"{}"),  # a header length no file could hold
    ("huggingface/model.safetensors", _safetensors(b"not json")),  # a header that is not JSON
]


@pytest.mark.parametrize(("name", "content"), DAMAGED)
def test_a_damaged_checkpoint_file_is_one_sentence(tmp_path, capsys, monkeypatch, name, content) -> None:
    run = _run(tmp_path)
    (run / "global_step_3" / name).write_bytes(content)
    merges = []
    monkeypatch.setattr(export, "merge_with_verl", lambda step, target: merges.append(step))
    for step in ([], ["--step", "3"]):  # the latest complete step, and the step asked for
        code, _, err = _call([run, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", *step], capsys)
        assert code == 2 and "is damaged" in _one_sentence(err) and name.split("/")[-1] in err
    assert merges == [] and not (tmp_path / "hf").exists()


def test_a_sound_safetensors_file_is_not_called_damaged(tmp_path) -> None:
    from launch.export.layout import damaged_file

    (tmp_path / "model.safetensors").write_bytes(_safetensors(_TENSOR, b"\0" * 8))
    assert damaged_file(tmp_path) is None


@pytest.mark.parametrize(("config", "says"), [
    # issue 24: a tiny checkpoint exported with --recipe sft_qwen7b claimed to be Qwen2.5-7B-Instruct
    ({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 152064},
     "hidden_size, layers"),
    # another model family under the same recipe
    ({"architectures": ["LlamaForCausalLM"], "hidden_size": 3584, "num_hidden_layers": 28, "vocab_size": 152064},
     "architecture"),
])
def test_a_checkpoint_that_is_not_the_recipes_base_model_is_refused(tmp_path, capsys, config, says) -> None:
    run = _run(tmp_path)
    (run / "global_step_3" / "huggingface" / "config.json").write_text(json.dumps(config))
    code, _, err = _call([run, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--dry-run"], capsys)
    assert code == 2 and says in _one_sentence(err) and "Qwen/Qwen2.5-7B-Instruct" in err and "hidden_size 3584" in err


def test_the_card_records_the_checkpoints_own_facts(tmp_path, capsys) -> None:
    run = _run(tmp_path)
    config = {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 3584, "num_hidden_layers": 28, "vocab_size": 152064}
    (run / "global_step_3" / "huggingface" / "config.json").write_text(json.dumps(config))
    code, out, _ = _call([run, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b", "--dry-run"], capsys)
    assert code == 0 and "hidden_size: 3584" in out and "layers: 28" in out


def test_the_pipeline_passes_force_only_for_its_own_export_of_the_stage(tmp_path) -> None:
    """Issue 25: launch/pipeline.py always passed --force, so any folder at the export path could be replaced."""
    from launch.export.out import force_flag

    _card(tmp_path / "sft", ["config.json"])  # our own SFT export: a rerun replaces it
    _card(tmp_path / "rl", ["config.json"], stage="rl", recipe="rl_qwen7b")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text("{}")
    assert force_flag(tmp_path / "sft", "sft") == ["--force"]
    assert force_flag(tmp_path / "rl", "sft") == []  # another stage's export
    assert force_flag(tmp_path / "mine", "sft") == []  # the user's folder
    assert force_flag(tmp_path / "absent", "sft") == []  # nothing yet: nothing to replace
