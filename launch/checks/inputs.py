"""The run's inputs (model path, data files, output dir), read from the composed recipe and checked before submitting.

A job that waits hours in the queue and then dies on a typo'd path wastes the wait: every missing
input is named, in one sentence, before ``sbatch`` runs. Values come from the composed recipe, so
``RMR1_*`` variables, env-file settings and ``key=value`` overrides are all honoured; each value says
where it came from. Relative paths are pinned to absolute overrides: the nodes' processes do not
share the submitter's working directory.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from infra.hub import is_offline, looks_like_hub_id
from recipes.compose import Composed, safe_select
from recipes.verl_checks import setting_file

MODEL_KEY = "actor_rollout_ref.model.path"
MODEL_KEYS = {"rl": MODEL_KEY, "sft": "model.path"}  # where each recipe kind names its model
TRAIN_KEY, VAL_KEY = "data.train_files", "data.val_files"
CKPT_KEY = "trainer.default_local_dir"
_ENV_REF = re.compile(r"oc\.env:(RMR1_\w+)")
_PLAIN = re.compile(r"^[\w./+-]+$")


@dataclass(frozen=True)
class Value:
    """A resolved config value and where it came from."""

    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class RunInputs:
    """What the run reads and writes, as absolute paths (the model may be a hub id)."""

    model: Value
    train_files: list[str]
    val_files: list[str]
    data_source: str
    checkpoint_dir: str
    output_root: str
    pins: list[str]

    @property
    def model_is_hub_id(self) -> bool:
        return is_hub_id(str(self.model.value))


def is_hub_id(model: str) -> bool:
    """True for ``org/name`` that is not a local path (verl then downloads it on each node)."""
    return not os.path.isabs(model) and looks_like_hub_id(model) and not Path(model).exists()


def value_of(composed: Composed, key: str) -> Value:
    """``key``'s resolved value and its source: an override, an ``RMR1_*`` variable, or a recipe file."""
    value = safe_select(composed.cfg, key)
    for override in reversed(composed.overrides):
        if override.lstrip("+~").split("=", 1)[0] == key:
            return Value(key, value, f"override {override}")
    found = setting_file(composed, key)  # recipes' one answer to "which file sets this key"
    if found is None:
        return Value(key, value, "verl's default")
    path, raw = found
    where = path.relative_to(composed.config_dir.parent).as_posix()
    refs = [v for v in _ENV_REF.findall(str(raw)) if os.environ.get(v)]
    return Value(key, value, f"{refs[0]} via {where}" if refs else f"default in {where}")


def read_inputs(composed: Composed, cwd: Path) -> RunInputs:
    """Resolve the inputs of a GRPO recipe, absolute against ``cwd``; relative ones become pinned overrides."""
    pins: list[str] = []
    model_key = MODEL_KEYS[composed.kind]
    model = value_of(composed, model_key)
    model_text = os.path.expanduser(str(model.value))
    if not os.path.isabs(model_text) and (cwd / model_text).exists():
        model_text = _pin(pins, model_key, os.path.normpath(cwd / model_text))
    elif not os.path.isabs(model_text) and not is_hub_id(model_text):
        model_text = os.path.normpath(cwd / model_text)  # missing: reported with the path the nodes would use
    train, val = (_pin_files(composed, key, cwd, pins) for key in (TRAIN_KEY, VAL_KEY))
    ckpt = str(safe_select(composed.cfg, CKPT_KEY))
    if not os.path.isabs(ckpt):
        ckpt = _pin(pins, CKPT_KEY, os.path.normpath(cwd / ckpt))
    return RunInputs(
        model=Value(model_key, model_text, model.source),
        train_files=train,
        val_files=val,
        data_source=value_of(composed, TRAIN_KEY).source,
        checkpoint_dir=ckpt,
        output_root=_output_root(composed, ckpt),
        pins=pins,
    )


def missing_inputs(inputs: RunInputs) -> list[str]:
    """One phrase per missing input, each naming the variable or key that fixes it."""
    missing = []
    model = str(inputs.model.value)
    if not inputs.model_is_hub_id and not Path(model).is_dir():
        missing.append(f"model path {model} ({inputs.model.source}; set RMR1_MODEL_PATH or {inputs.model.key}=...)")
    elif not inputs.model_is_hub_id and not (Path(model) / "config.json").is_file():
        missing.append(f"config.json in model path {model} (export the model in Hugging Face format)")
    absent = [f for f in inputs.train_files + inputs.val_files if not Path(f).is_file()]
    if absent:
        missing.append(
            f"data file(s) {', '.join(absent)} ({inputs.data_source}; set RMR1_DATA_DIR to the data builder's "
            f"output or pass {TRAIN_KEY}=... {VAL_KEY}=...)"
        )
    if not Path(inputs.output_root).is_dir():
        missing.append(f"output dir {inputs.output_root} (create it or set RMR1_OUTPUT_DIR to an existing folder)")
    elif not writable(Path(inputs.output_root)):
        missing.append(f"write access to output dir {inputs.output_root} (it is read-only; set RMR1_OUTPUT_DIR "
                       "to a folder you can write)")
    if inputs.model_is_hub_id and is_offline() and not hub_cached(model):
        missing.append(f"a cached copy of hub model {model} (HF_HUB_OFFLINE is set, so nothing is downloaded; "
                       "download it once online, or set RMR1_MODEL_PATH to a local folder)")
    return missing


def writable(folder: Path) -> bool:
    """True when a file can be created in ``folder`` (a real write: root passes permission bits, not ro mounts)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".launch-write-check-"):
            return True
    except OSError:
        return False


def hub_cached(model: str) -> bool:
    """True when the local Hugging Face cache holds ``model``'s config.json (what verl reads first)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model, "config.json")
    return isinstance(found, str) and Path(found).is_file()


def missing_sentence(recipe: str, missing: list[str]) -> str:
    """The one sentence a user sees when inputs are missing."""
    return f"Not submitting {recipe}: missing " + "; missing ".join(missing) + "."


def _files(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in (value or [])]


def _pin_files(composed: Composed, key: str, cwd: Path, pins: list[str]) -> list[str]:
    value = safe_select(composed.cfg, key)
    files = _files(OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value)
    if all(os.path.isabs(os.path.expanduser(f)) for f in files):
        return [os.path.expanduser(f) for f in files]
    absolute = [os.path.normpath(cwd / os.path.expanduser(f)) for f in files]
    _pin(pins, key, absolute[0] if isinstance(value, str) else absolute)
    return absolute


def _pin(pins: list[str], key: str, value: str | list[str]) -> str:
    """Record ``key=value`` as a Hydra override (quoted when the path has special characters)."""
    items = value if isinstance(value, list) else [value]
    text = ",".join(v if _PLAIN.match(v) else "'" + v.replace("'", "\\'") + "'" for v in items)
    pins.append(f"{key}=[{text}]" if isinstance(value, list) else f"{key}={text}")
    return items[0]


def _output_root(composed: Composed, ckpt: str) -> str:
    """The folder the run writes under: default_local_dir without its ``project/experiment`` tail."""
    project = str(safe_select(composed.cfg, "trainer.project_name"))
    experiment = str(safe_select(composed.cfg, "trainer.experiment_name"))
    path = Path(ckpt)
    if path.parts[-2:] == (project, experiment):
        return str(path.parent.parent)
    return str(path.parent)
