"""Find the step to export in a verl run folder, and tell its layout: RL (``global_step_N/actor/``) or SFT.

verl 0.9.1 writes FSDP checkpoints in two places. The GRPO trainer (``main_ppo``) saves the actor under
``<run>/global_step_N/actor/``; the SFT trainer (``sft_trainer``) hands ``<run>/global_step_N`` straight to
the same FSDP checkpoint manager, so its shards sit in the step folder itself (beside ``data_R.pt``, the
dataloader state). Either way the folder holds ``fsdp_config.json`` (``world_size``), one
``model_world_size_W_rank_R.pt`` per rank and ``huggingface/`` (config and tokenizer), and the trainer writes
``latest_checkpointed_iteration.txt`` only AFTER every rank finished saving. A step is complete when
all of that is there and its number is not above that marker; anything else is a save in progress or
a crash mid-save, skipped with a warning unless it was asked for by number.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from infra.cli_errors import UserError
from infra.user_json import BadJson, parse_json, read_json_file

Layout = Literal["rl", "sft"]
TRACKER = "latest_checkpointed_iteration.txt"
_STEP = re.compile(r"^global_step_(\d+)$")
_SHARD = re.compile(r"^model_world_size_(\d+)_rank_(\d+)\.pt$")


class ExportError(UserError):
    """A checkpoint that cannot be exported as asked; one sentence naming the folder and the fix."""


@dataclass(frozen=True)
class StepDir:
    """One complete checkpoint step: where verl's merger reads from (``local_dir``) and its layout."""

    step: int
    path: Path
    layout: Layout
    local_dir: Path
    world_size: int

    @property
    def hf_config_dir(self) -> Path:
        return self.local_dir / "huggingface"


def step_folders(run_dir: Path) -> dict[int, Path]:
    """``{N: run_dir/global_step_N}`` for every step folder (a run dir that is itself a step counts as one)."""
    own = _STEP.match(run_dir.name)
    if own and not any(_STEP.match(p.name) for p in run_dir.iterdir() if p.is_dir()):
        return {int(own.group(1)): run_dir}
    return {int(m.group(1)): p for p in run_dir.iterdir() if p.is_dir() and (m := _STEP.match(p.name))}


def tracked_step(run_dir: Path) -> int | None:
    """The step verl recorded as fully saved, or None without a (readable) marker."""
    try:
        text = (run_dir / TRACKER).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def layout_of(step_path: Path) -> tuple[Layout, Path] | None:
    """The layout and merger folder of a step; None for an empty (not yet written) folder.

    Raises ExportError for a folder that holds something other than an FSDP checkpoint.
    """
    actor = step_path / "actor"
    if actor.is_dir():
        return "rl", actor
    names = {p.name for p in step_path.iterdir()}
    if "fsdp_config.json" in names or any(_SHARD.match(n) for n in names):
        return "sft", step_path
    if not names:
        return None
    shown = ", ".join(sorted(names)[:5])
    raise ExportError(
        f"{step_path} is neither verl's RL layout (actor/ with model_world_size_*.pt) nor its SFT layout "
        f"(model_world_size_*.pt in the step folder) but holds {shown}; only FSDP checkpoints export here "
        "(Megatron ones need python -m verl.model_merger merge --backend megatron)."
    )


def incomplete_reason(step_path: Path, tracked: int | None, step: int) -> str | None:
    """Why a step folder cannot be exported yet (None when it is complete)."""
    found = layout_of(step_path)
    if found is None:
        return "the folder is empty"
    _, local = found
    if tracked is not None and step > tracked:
        return f"{TRACKER} still says {tracked}, so this save has not finished"
    world = world_size(local)
    if world is None:
        return f"{local / 'fsdp_config.json'} is missing or has no world_size of 1 or more"
    absent = [r for r in range(world) if not (local / f"model_world_size_{world}_rank_{r}.pt").is_file()]
    if absent:
        return f"{len(absent)} of {world} model shards are missing (ranks {', '.join(map(str, absent[:8]))})"
    if not (local / "huggingface" / "config.json").is_file():
        return f"{local / 'huggingface' / 'config.json'} is missing"
    return None


def world_size(local: Path) -> int | None:
    """``world_size`` of the step's ``fsdp_config.json``: a whole number from 1 to the shard files there, or None."""
    config = read_json_file(local / "fsdp_config.json", None)
    value = config.get("world_size") if isinstance(config, dict) else None
    shards = sum(1 for p in local.iterdir() if _SHARD.match(p.name))
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= max(shards, 1):
        return None  # a float, a string, 0, a negative, or more ranks than shard files (never a billion-step loop)
    return value


def pick_step(run_dir: Path, step: int | None = None) -> StepDir:
    """The requested step, or the latest complete one (incomplete later steps are skipped with a warning)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ExportError(f"checkpoint folder {run_dir} is a file; pass the run's trainer.default_local_dir.")
    if not run_dir.is_dir():
        raise ExportError(f"checkpoint folder {run_dir} does not exist; pass the run's trainer.default_local_dir.")
    folders = step_folders(run_dir)
    if not folders:
        raise ExportError(f"{run_dir} holds no global_step_N folder; pass the run's trainer.default_local_dir "
                          "(the folder with latest_checkpointed_iteration.txt).")
    tracked = tracked_step(run_dir)
    if step is not None:
        if step not in folders:
            raise ExportError(f"{run_dir} has no global_step_{step}; it has steps {_steps(folders)}.")
        reason = incomplete_reason(folders[step], tracked, step)
        if reason:
            raise ExportError(f"global_step_{step} in {run_dir} is incomplete ({reason}); export another --step.")
        return _step_dir(step, folders[step])
    for number in sorted(folders, reverse=True):
        reason = incomplete_reason(folders[number], tracked, number)
        if reason is None:
            return _step_dir(number, folders[number])
        print(f"warning: skipping global_step_{number} in {run_dir}: {reason}", file=sys.stderr, flush=True)
    raise ExportError(f"no complete checkpoint in {run_dir} (steps {_steps(folders)} are all incomplete); "
                      "wait for the save to finish or resume the run.")


def hf_config(step: StepDir) -> dict[str, Any]:
    """The step's Hugging Face config (``huggingface/config.json``); ExportError when unreadable."""
    path = step.hf_config_dir / "config.json"
    try:
        config = parse_json(path.read_bytes())
    except (OSError, BadJson) as err:
        raise ExportError(f"{path} cannot be read as JSON ({str(err)[:200]}); restore it from the base "
                          "model.") from None
    return config if isinstance(config, dict) else {}


def architectures(step: StepDir) -> list[str]:
    """``architectures`` of the step's HF config; ExportError when absent (verl's merger needs it)."""
    names = hf_config(step).get("architectures")
    if not names or not isinstance(names, list):
        raise ExportError(
            f"{step.hf_config_dir / 'config.json'} has no 'architectures'; add the base model's, e.g. "
            "\"architectures\": [\"Qwen2ForCausalLM\"], since verl's merger picks the model class from it."
        )
    return [str(n) for n in names]


def damaged_file(local: Path) -> tuple[Path, str] | None:
    """The first weight file of a step that cannot be read whole, and why; None when all look sound.

    Cheap checks that catch an empty, truncated or foreign file before verl's merger loads it (a
    traceback from deep inside torch or safetensors): a ``.pt`` shard is a zip archive whose central
    directory sits at its very end; a ``.safetensors`` file starts with its header's length, and the
    header's last tensor ends exactly where the file does.
    """
    for path in sorted(local.rglob("*.pt")) + sorted(local.rglob("*.safetensors")):
        why = _zip_problem(path) if path.suffix == ".pt" else _safetensors_problem(path)
        if why:
            return path, why
    return None


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        return "it is empty" if path.stat().st_size == 0 else f"it is not a whole torch archive ({err})"
    if not any(n.endswith("/data.pkl") for n in names) or not any(n.endswith("version") for n in names):
        return "it is a zip archive without torch's data.pkl and version records"
    return None


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if size < 8 or length > size - 8:
                return "it is empty" if size == 0 else "its header is cut off or not a safetensors header"
            header = json.loads(handle.read(length))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError):
        return "its header is not a safetensors header"
    return None if 8 + length + end == size else f"it holds {size:,} bytes where its header needs {8 + length + end:,}"


def _step_dir(step: int, path: Path) -> StepDir:
    found = layout_of(path)
    assert found is not None, "complete steps are never empty"
    layout, local = found
    world = world_size(local)
    assert world is not None, "complete steps have a world size"
    bad = damaged_file(local)
    if bad:
        raise ExportError(f"checkpoint file {bad[0]} is damaged ({bad[1]}); export another --step, or resume the run "
                          "so it saves this step again.")
    return StepDir(step=step, path=path, layout=layout, local_dir=local, world_size=world)


def _steps(folders: dict[int, Path]) -> str:
    return ", ".join(str(n) for n in sorted(folders))
