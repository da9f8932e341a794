"""What an export's model card says, from the run's own records: the launch spec, the recipe, the data manifest.

The launcher writes ``<log dir>/<run id>.spec.json`` (recipe, overrides with pinned paths, the ``RMR1_*``
inputs) when it submits, by default under ``<checkpoint dir>/launch/``. Composing that recipe again
with those inputs gives the base model and the train files; ``manifest.json`` beside the train file
(``infra.run_metadata``) gives the data's content hash, prompt version and verdict format version. The
prompt variant is the recipe's own (recipes.manifest.recipe_variant), which the launcher already
checked against that manifest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

from data_prep.prompts import PROMPT_VERSION
from infra.hub import looks_like_hub_id
from infra.model_card import CardFacts, read_block, read_front
from infra.run_metadata import RunMetadata, git_commit
from infra.user_json import BadJson, parse_json, read_json_file
from launch.export.layout import ExportError, StepDir, hf_config
from launch.export.out import safe_overrides
from reward_fns import VERDICT_FORMAT_VERSION

REPO = Path(__file__).resolve().parents[2]
MODEL_KEYS = {"rl": "actor_rollout_ref.model.path", "sft": "model.path"}
# The recipes' default base models (their config.json on the hub), to compare a checkpoint with offline.
_QWEN2 = {"architecture": "Qwen2ForCausalLM", "vocab_size": 152064}
BASE_MODELS: dict[str, dict[str, Any]] = {
    **{f"{org}/{name}-{size}{tail}": {**_QWEN2, "hidden_size": hidden, "layers": layers}
       for size, hidden, layers in (("7B", 3584, 28), ("14B", 5120, 48), ("32B", 5120, 64))
       for org, name, tail in (("Qwen", "Qwen2.5", "-Instruct"), ("deepseek-ai", "DeepSeek-R1-Distill-Qwen", ""))},
    "Qwen/Qwen3-8B": {"architecture": "Qwen3ForCausalLM", "hidden_size": 4096, "layers": 36, "vocab_size": 151936},
}


def find_spec(run_dir: Path) -> Path | None:
    """The newest training spec under ``run_dir/launch`` (validate runs train nothing), or None."""
    specs = []
    for path in (run_dir / "launch").glob("*.spec.json"):
        data = read_json_file(path, None)
        if isinstance(data, dict) and data.get("mode") == "train":
            specs.append((path.stat().st_mtime, path))
    return max(specs)[1] if specs else None


def recipe_source(run_dir: Path, spec: Path | None, recipe: str | None) -> tuple[str, list[str], dict[str, str]]:
    """``(recipe, overrides, RMR1 inputs)`` from ``--recipe``, ``--spec`` or the run's newest spec."""
    if recipe is not None:
        return recipe, [], {}
    path = spec or find_spec(run_dir)
    if path is None:
        raise ExportError(f"no launch spec in {run_dir / 'launch'} says which recipe trained this run; "
                          "pass --recipe NAME (e.g. sft_qwen7b) or --spec <log dir>/<run id>.spec.json.")
    try:
        data = parse_json(Path(path).read_bytes())
        env = {k: str(v) for k, v in (data.get("env") or {}).items() if k.startswith("RMR1_")}
        return str(data["recipe"]), [str(o) for o in data.get("overrides") or []], env
    except (OSError, BadJson, KeyError, AttributeError, TypeError) as err:
        raise ExportError(f"launch spec {path} cannot be read ({str(err)[:200]}); pass --recipe NAME "
                          "instead.") from None


def run_facts(step: StepDir, recipe: str, overrides: Sequence[str], env: dict[str, str]) -> CardFacts:
    """Compose the run's recipe with its inputs and read the card's facts, all with those inputs set.

    The recipe's paths are ``${oc.env:RMR1_...}`` interpolations that resolve when read, so everything
    that reads them happens inside the run's environment.
    """
    from recipes.compose import RecipeError, compose_recipe

    with patch.dict(os.environ, env):  # the ${oc.env:RMR1_...} interpolations read them
        try:
            composed = compose_recipe(recipe, list(overrides))
        except RecipeError as err:
            raise ExportError(f"{err} (pass --recipe NAME if this run used another recipe)") from err
        return card_facts(step, composed)


def card_facts(step: StepDir, composed: Any, *, now: datetime | None = None) -> CardFacts:
    """The card of ``step`` exported from a run of ``composed``."""
    from recipes.compose import safe_select
    from recipes.manifest import default_manifest_path, recipe_variant

    if composed.kind != step.layout:
        raise ExportError(f"{step.path} is an {step.layout.upper()} checkpoint but recipe {composed.name} is "
                          f"{composed.kind.upper()}; pass the recipe that trained it with --recipe.")
    manifest, meta = _manifest(default_manifest_path(composed))
    model = str(safe_select(composed.cfg, MODEL_KEYS[composed.kind]))
    own = model_facts(hf_config(step))
    same_model(own, model, step, composed.name)
    base, parent = lineage(model)
    variant = recipe_variant(composed) or "instruct"
    when = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return CardFacts(
        stage=composed.kind,
        recipe=composed.name,
        step=step.step,
        prompt_variant=variant,
        prompt_version=(meta.prompt_version if meta and meta.prompt_version else PROMPT_VERSION),
        verdict_version=(meta.verdict_format_version if meta else VERDICT_FORMAT_VERSION),
        base_model=base,
        checkpoint=own,
        data_manifest=manifest,
        parent=parent,
        overrides=safe_overrides(composed.overrides),
        source_checkpoint=str(step.local_dir),
        git_commit=git_commit(REPO),
        exported_at=when,
    )


def model_facts(config: dict[str, Any]) -> dict[str, Any]:
    """What tells two models apart in a Hugging Face config: architecture, hidden size, layers, vocabulary."""
    names = config.get("architectures") or [None]
    facts = {"architecture": names[0], "hidden_size": config.get("hidden_size"),
             "layers": config.get("num_hidden_layers"), "vocab_size": config.get("vocab_size")}
    return {k: v for k, v in facts.items() if v is not None}


def base_facts(model: str) -> dict[str, Any] | None:
    """The recipe's base model's facts: a local folder's config.json, a known hub id's, else None (unknown)."""
    config = Path(os.path.expanduser(model)) / "config.json"
    if config.is_file():
        data = read_json_file(config, None)
        return model_facts(data) if isinstance(data, dict) else None
    return BASE_MODELS.get(model)


def same_model(own: dict[str, Any], model: str, step: StepDir, recipe: str) -> None:
    """ExportError when the checkpoint is not the recipe's base model (a tiny model must not claim to be 7B)."""
    base = base_facts(model)
    if base is None:
        print(f"warning: the facts of {recipe}'s base model {model} are not known here, so the checkpoint was not "
              "compared with it; the card records the checkpoint's own", file=sys.stderr, flush=True)
        return
    differ = [k for k in own if k in base and own[k] != base[k]]
    if differ:
        raise ExportError(f"checkpoint {step.local_dir} is {_shown(own)} but recipe {recipe}'s base model {model} is "
                          f"{_shown(base)} (they differ in {', '.join(differ)}); pass the recipe that trained it "
                          "with --recipe or --spec.")


def _shown(facts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in facts.items())


def lineage(model: str) -> tuple[str | None, dict[str, Any] | None]:
    """``(base_model, parent)``: a hub id is the base; an exported folder passes on its card's base model.

    ``base_model`` is hub metadata and must be a hub id, never a machine path: a local folder without a
    card is recorded as the parent instead, with no base model.
    """
    path = Path(os.path.expanduser(model))
    if not path.is_dir():
        return (model if looks_like_hub_id(model) else None), None
    block = read_block(path)
    if not block:
        return None, {"path": str(path)}
    parent: dict[str, Any] = {"path": str(path), **{k: block[k] for k in ("stage", "recipe", "step") if k in block}}
    return read_front(path).get("base_model"), parent


def _manifest(path: Path) -> tuple[dict[str, Any] | None, RunMetadata | None]:
    if not path.is_file():
        print(f"warning: no data manifest at {path}; the card records no data hash", file=sys.stderr, flush=True)
        return None, None
    try:
        meta = RunMetadata.read(path)
    except ValueError as err:
        raise ExportError(f"data manifest {path} cannot be read ({err}); rebuild the data or fix the file.") from err
    return {"path": str(path), "content_hash": meta.content_hash(), "tool": meta.tool}, meta
