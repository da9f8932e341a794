"""Compose a recipe with verl's real configs (Hydra compose API), flatten configs to dotted keys, and the
unit every check returns (:class:`Problem`).

Composing is what ``python -m verl.trainer.main_ppo --config-path recipes --config-name <recipe>``
does before training, minus the run: the same search path, defaults and overrides, so a recipe that
composes here composes there.

Problems a check finds are data; :class:`RecipeError` is for input that stops the check itself (an
unknown recipe, an override that does not compose): one sentence and exit 2 through ``run_cli``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf

from infra.cli_errors import UserError

RECIPES_DIR = Path(__file__).resolve().parent
Kind = Literal["rl", "sft"]
# verl's own top-level configs that the recipes extend, by recipe kind.
BASE_CONFIG: dict[Kind, str] = {"rl": "ppo_trainer", "sft": "sft_trainer_engine"}
MISSING = "???"


class RecipeError(UserError):
    """A recipe cannot be composed or checked as asked; the message names the input and the fix."""


@dataclass(frozen=True)
class Problem:
    """``error`` stops a launch; ``warning`` is printed and the launch may go on."""

    level: Literal["error", "warning"]
    check: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.level.upper()} [{self.check}] {self.message}"


def error(check: str, message: str) -> Problem:
    return Problem("error", check, message)


def warning(check: str, message: str) -> Problem:
    return Problem("warning", check, message)


@dataclass
class Composed:
    """A composed recipe: the config (hydra node removed) and the config-group choices it used."""

    name: str
    overrides: list[str]
    cfg: DictConfig
    choices: dict[str, str] = field(default_factory=dict)
    config_dir: Path = RECIPES_DIR

    @property
    def kind(self) -> Kind:
        """``rl`` for recipes over ppo_trainer, ``sft`` for recipes over sft_trainer_engine."""
        return "rl" if "actor_rollout_ref" in self.cfg else "sft"

    @property
    def base(self) -> str:
        """verl's own config the recipe extends."""
        return BASE_CONFIG[self.kind]


def list_recipes(config_dir: Path = RECIPES_DIR) -> list[str]:
    """The primary recipes (top-level yaml files of ``recipes/``), sorted."""
    return sorted(p.stem for p in config_dir.glob("*.yaml"))


def compose_recipe(name: str, overrides: Sequence[str] = (), config_dir: Path = RECIPES_DIR) -> Composed:
    """Compose ``<config_dir>/<name>.yaml`` with command-line style ``overrides`` (``key=value``, ``size=14b``).

    Raises RecipeError for an unknown recipe or an override Hydra rejects (e.g. a key verl lacks).
    """
    known = list_recipes(config_dir)
    if name not in known:
        raise RecipeError(f"no recipe named {name!r} in {config_dir.name}/; use one of {', '.join(known)}.")
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    try:
        with _fresh_hydra(), initialize_config_dir(config_dir=str(config_dir.resolve()), version_base=None):
            cfg = compose(config_name=name, overrides=list(overrides), return_hydra_config=True)
    except HydraException as err:
        reason = " ".join(str(err).split())
        raise RecipeError(f"recipe {name!r} with overrides {list(overrides)} does not compose: {reason}") from err
    choices = {str(k): str(v) for k, v in cfg.hydra.runtime.choices.items() if not str(k).startswith("hydra/")}
    OmegaConf.set_struct(cfg, False)
    del cfg["hydra"]
    OmegaConf.set_struct(cfg, True)  # as verl's entry points receive it: unknown reads raise
    return Composed(name=name, overrides=list(overrides), cfg=cfg, choices=choices, config_dir=config_dir)


@functools.cache
def verl_base(kind: Kind) -> dict[str, Any]:
    """verl's own base config for ``kind`` as dotted keys (:func:`flatten`), composed from the installed package."""
    from hydra import compose, initialize_config_module

    with _fresh_hydra(), initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return flatten(compose(config_name=BASE_CONFIG[kind]))


def flatten(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """Leaves of ``cfg`` as ``{"a.b.c": value}``, interpolations unresolved; empty dicts and lists are leaves."""
    data = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    return dict(_walk(data, ""))


def safe_select(cfg: DictConfig, key: str) -> Any:
    """``cfg``'s resolved value at dotted ``key``; None when absent, ``???`` or not resolvable."""
    try:
        return OmegaConf.select(cfg, key, throw_on_missing=False)
    except Exception:  # an unresolvable interpolation: reported by recipes.verl_checks.check_required
        return None


def _walk(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _walk(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, node


@contextlib.contextmanager
def _fresh_hydra() -> Iterator[None]:
    """Run a compose with Hydra's global state cleared, then put back whatever was there before."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    backup = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        if backup is not None:
            restore_gh_from_backup(backup)
