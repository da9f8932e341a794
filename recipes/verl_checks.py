"""Checks of a composed recipe against verl 0.9.1 itself: keys, legacy reward keys, verl's validation.

Each check takes a :class:`~recipes.compose.Composed` recipe and returns a list of
:class:`~recipes.compose.Problem` (empty when fine). Batch arithmetic lives in ``recipes.batches``,
the data-manifest comparison in ``recipes.manifest``.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import re
import warnings
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from infra.hub import looks_like_hub_id
from recipes.compose import MISSING, Composed, Problem, error, flatten, safe_select, verl_base, warning

# Free-form maps verl reads as a whole although its yaml lists no default subkeys.
OPEN_PREFIXES = ("reward.custom_reward_function.reward_kwargs", "ray_kwargs.ray_init")
# Top-level legacy reward sections: they compose, but verl 0.9.1's main_ppo never reads them.
LEGACY_SECTIONS = ("custom_reward_function", "reward_model", "sandbox_fusion")
_LEGACY_MOVES = {
    "reward_model.reward_manager": "reward.reward_manager.name",
    "reward_model.num_workers": "reward.num_workers",
    "reward_model.model.path": "reward.reward_model.model_path",
}
_ENV_VAR = re.compile(r"oc\.env:(\w+)")


def check_known_keys(composed: Composed) -> list[Problem]:
    """Every key the recipe or an override adds must exist in verl's base config (or sit in a free-form map).

    Hydra accepts unknown keys written inside a recipe yaml and verl then ignores them: a typo would
    silently drop a setting.
    """
    base = verl_base(composed.kind)
    known = frozenset(base)
    open_keys = frozenset(k for k, v in base.items() if isinstance(v, dict) and not v)  # free-form: any subkey goes
    problems = []
    for key in sorted(set(flatten(composed.cfg)) - known):
        if _under_open_map(key, open_keys):
            continue
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
        fix = f"did you mean {hint[0]}?" if hint else "remove it or correct its spelling."
        problems.append(error(
            "known-keys",
            f"{_source_of(key, composed)} sets {key}, which verl 0.9.1's {composed.base} does not have "
            f"(it would be silently ignored); {fix}"))
    return problems


def check_legacy_reward(composed: Composed) -> list[Problem]:
    """No value under the legacy top-level reward sections: verl 0.9.1 reads only ``reward.*``."""
    if composed.kind != "rl":
        return []
    problems = []
    for key, value in flatten(composed.cfg).items():
        if key.split(".")[0] in LEGACY_SECTIONS and value not in (None, {}, []):
            problems.append(error(
                "legacy-reward",
                f"{_source_of(key, composed)} sets legacy {key}, which verl 0.9.1's trainer never reads "
                f"(a silently ignored reward); set {_legacy_target(key)} instead."))
    return problems


def check_required(composed: Composed) -> list[Problem]:
    """Mandatory values (``???``) are given and every interpolation (``${oc.env:...}``) resolves.

    The disabled GenRM section's mandatory values are never read, so they are not reported.
    """
    flat = flatten(composed.cfg)
    genrm_on = bool(flat.get("reward.reward_model.enable"))
    problems = []
    for key, value in flat.items():
        if value == MISSING and (genrm_on or not key.startswith("reward.reward_model.")):
            problems.append(error(
                "required", f"{key} is required and not set; pass {key}=<value> on the command line."))
        elif isinstance(value, str) and "oc.env:" in value:  # keys that copy another key repeat its error
            try:
                OmegaConf.select(composed.cfg, key, throw_on_missing=True)
            except Exception as err:  # omegaconf raises several interpolation error types
                reason = str(err).split("\n")[0].split("interpolation: ", 1)[-1].strip('"')
                names = " or ".join(_ENV_VAR.findall(value))
                problems.append(error(
                    "required", f"{key} = {value} does not resolve ({reason}); pass {key}=<value> or set {names}."))
    return problems


def check_verl_validation(composed: Composed) -> list[Problem]:
    """Run verl's own validation: ``validate_config`` for GRPO, the dataclass conversions for SFT."""
    from verl.utils.config import omega_conf_to_dataclass

    cfg = composed.cfg
    try:
        # verl prints progress and warns that GRPO disables the critic: expected, not a finding.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if composed.kind == "rl":
                from verl.trainer.ppo.utils import need_critic, need_reference_policy
                from verl.utils.config import validate_config

                validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
                for section in (cfg.actor_rollout_ref.rollout, cfg.algorithm):
                    omega_conf_to_dataclass(section)
            else:
                for section in (cfg.engine, cfg.optim, cfg.checkpoint):
                    omega_conf_to_dataclass(section)
    except Exception as err:  # verl raises AssertionError, ValueError, omegaconf errors...
        reason = " ".join(str(err).split()) or type(err).__name__
        return [error("verl-validate", f"verl 0.9.1 rejects recipe {composed.name!r}: {reason}")]
    return []


def check_reward_loads(composed: Composed) -> list[Problem]:
    """``reward.custom_reward_function`` is set and loads through verl's own loader."""
    if composed.kind != "rl":
        return []
    path = composed.cfg.reward.custom_reward_function.get("path")
    if not path and composed.cfg.reward.reward_model.get("enable"):
        return []  # verl's discriminative reward-model path: the RM's classifier output is the reward
    if not path:
        return [error(
            "reward",
            "reward.custom_reward_function.path is not set, so verl would fall back to its built-in "
            "scorers; set it to pkg://reward_fns.score.")]
    from verl.trainer.ppo.reward import get_custom_reward_fn

    try:
        get_custom_reward_fn(composed.cfg)
    except Exception as err:
        name = composed.cfg.reward.custom_reward_function.get("name")
        return [error("reward", f"reward function {name!r} does not load from {path}: {err}; fix the path or name.")]
    return []


def check_model_path(composed: Composed) -> list[Problem]:
    """Warn when the model path is neither a local directory nor shaped like a hub id (``org/name``)."""
    key = "actor_rollout_ref.model.path" if composed.kind == "rl" else "model.path"
    value = safe_select(composed.cfg, key)
    if value in (None, MISSING) or Path(str(value)).expanduser().is_dir() or looks_like_hub_id(str(value)):
        return []
    return [warning(
        "model-path",
        f"{key} is {value!r}, which is not a directory here; fine if it exists on the cluster's shared "
        f"filesystem, otherwise pass {key}=<hub id or directory>.")]


def check_sft_messages(composed: Composed) -> list[Problem]:
    """An SFT recipe's local data files hold the column ``MultiTurnSFTDataset`` reads (``data.messages_key``).

    RL parquet (e.g. ``distill.parquet``, prompts without replies) would otherwise pass every other check.
    Files not on this machine (a cluster path) are left to the launcher's checks.
    """
    if composed.kind != "sft":
        return []
    import pyarrow.parquet as pq

    key = str(safe_select(composed.cfg, "data.messages_key") or "messages")
    problems = []
    for name in ("data.train_files", "data.val_files"):
        value = safe_select(composed.cfg, name)
        files = [value] if isinstance(value, str) else list(value or []) if value not in (None, MISSING) else []
        for file in (Path(str(f)).expanduser() for f in files):
            if not file.is_file():
                continue
            try:
                columns = pq.read_schema(file).names
            except Exception as err:  # pyarrow raises several types for a damaged or foreign file
                problems.append(error("sft-data", f"{name} {file} is not readable parquet ({err}); rebuild it."))
                continue
            if key not in columns:
                problems.append(error(
                    "sft-data",
                    f"{name} {file} has no {key!r} column (columns: {sorted(columns)}), so it is not SFT data "
                    "(distill.parquet holds prompts without replies); make SFT data with data_prep/distill.py or "
                    "data_prep/released.py and point data.train_files at its train.parquet.",
                ))
    return problems


def _under_open_map(key: str, open_keys: frozenset[str]) -> bool:
    parts = key.split(".")
    ancestors = {".".join(parts[:i]) for i in range(1, len(parts))}
    return bool(ancestors & open_keys) or key.startswith(tuple(p + "." for p in OPEN_PREFIXES))


def _legacy_target(key: str) -> str:
    return _LEGACY_MOVES.get(key) or f"reward.{key}"


def _source_of(key: str, composed: Composed) -> str:
    """Which command-line override or recipe file sets ``key``."""
    for override in reversed(composed.overrides):
        if override.lstrip("+~").split("=", 1)[0] == key:
            return f"override {override!r}"
    found = setting_file(composed, key)
    if found is not None:
        return f"{composed.config_dir.name}/{found[0].relative_to(composed.config_dir).as_posix()}"
    return f"recipe {composed.name!r}"


def setting_file(composed: Composed, key: str) -> tuple[Path, Any] | None:
    """The recipe file whose value of ``key`` wins, and that raw (unresolved) value; None when no file sets it.

    The primary recipe wins (``_self_`` comes last in every defaults list), then later defaults over earlier.
    The one answer to "which file sets this key" for the checks' messages and the launcher's echo.
    """
    files = recipe_files(composed)
    for path in [files[0], *reversed(files[1:])]:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        flat = flatten(raw) if isinstance(raw, dict) else {}
        if key in flat:
            return path, flat[key]
    return None


def recipe_files(composed: Composed) -> list[Path]:
    """The recipe's own yaml files: the primary and the entries of its defaults list under ``recipes/``."""
    primary = composed.config_dir / f"{composed.name}.yaml"
    files = [primary]
    defaults: Any = OmegaConf.to_container(OmegaConf.load(primary)).get("defaults", [])
    for entry in defaults:
        if isinstance(entry, dict):
            group, option = next(iter(entry.items()))
            entry = f"{group}/{composed.choices.get(group, option)}"
        candidate = composed.config_dir / f"{entry}.yaml"
        if candidate.is_file():
            files.append(candidate)
    return files
