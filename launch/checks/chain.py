"""Launcher checks that belong to the chain of stages: SFT drivers, the SFT export's card, inputs still to come.

- An SFT recipe runs verl's SFT trainer under torchrun (launch.torchrun_job), not ``main_ppo`` on Ray.
- An RL recipe that starts from a local folder whose model card (written by ``python -m launch.export``)
  names another prompt variant than the recipe trains is refused: a judge distilled on the instruct
  prompt and then trained with RL on the reasoning prompt learns neither well. A folder without a card
  gets a warning (nothing can be checked).
- ``--api-key-env`` in pass-through flags names a variable; a pasted key is refused and never printed.
- ``--pending PATH`` (launch/pipeline.py) names an input an earlier job of the chain writes; submitted
  with ``--after JOB``, the stage waits for it, so its absence now is not a mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.cli_flags import ENV_NAME
from infra.model_card import CARD_FILE, read_block

SFT_DRIVER = "verl.trainer.sft_trainer"


def driver_module(kind: str, configured: str | None, source: str) -> str:
    """verl's entry point for the recipe kind, unless RMR1_DRIVER_MODULE was set explicitly (a stand-in)."""
    if kind == "sft" and (configured is None or source.startswith("default")):
        return SFT_DRIVER
    return configured or "verl.trainer.main_ppo"


def card_problems(composed: Any, model: str, model_is_hub_id: bool) -> list[str]:
    """Missing-input phrases for an RL recipe's local model folder whose card names another prompt variant."""
    have, want = _variants(composed, model, model_is_hub_id)
    if have is None or want is None or have == want:
        return []
    return [f"a model trained on the {want} prompt: {model}'s card says prompt_variant {have} but "
            f"{composed.name} trains {want} (start from an export of the {want} SFT run)"]


def card_warnings(composed: Any, model: str, model_is_hub_id: bool) -> list[str]:
    """A warning for an RL recipe's local model folder without a card: its prompt variant cannot be checked.

    Not an error: a Hugging Face folder made elsewhere (a base model copy, the test kit's tiny model) has
    no card, and refusing it would refuse every model not exported here.
    """
    have, want = _variants(composed, model, model_is_hub_id)
    if want is None or have is not None or composed.kind != "rl" or model_is_hub_id:
        return []
    if not (Path(model) / "config.json").is_file():
        return []
    return [f"[model-card] {model} has no model card ({CARD_FILE} with rm_r1.prompt_variant), so nothing checks "
            f"it was trained on the {want} prompt {composed.name} uses; export SFT runs with python -m launch.export."]


def _variants(composed: Any, model: str, model_is_hub_id: bool) -> tuple[str | None, str | None]:
    """(the card's prompt variant, the recipe's) for an RL recipe's local folder; (None, None) otherwise."""
    if composed.kind != "rl" or model_is_hub_id or not Path(model).is_dir():
        return None, None
    from recipes.manifest import recipe_variant

    return read_block(model).get("prompt_variant"), recipe_variant(composed)


def drop_pending(missing: Sequence[str], pending: Sequence[str]) -> list[str]:
    """The missing-input phrases that name none of the pending paths (an --after job writes those)."""
    marks = [str(Path(p)) for p in pending]
    return [phrase for phrase in missing if not any(mark in phrase for mark in marks)]


def key_name_problems(where: str, tokens: Sequence[str]) -> list[str]:
    """``--api-key-env`` takes a variable's NAME; a pasted key is refused without repeating it (it would be printed)."""
    problems = []
    for flag in ("--api-key-env", "--fix-api-key-env"):
        for index, token in enumerate(tokens[:-1]):
            if token == flag and not ENV_NAME.fullmatch(tokens[index + 1]):
                problems.append(f"{where}: {flag} must be the NAME of an environment variable holding the key (e.g. "
                                "TEACHER_API_KEY), never the key itself (not repeated here); export the key and pass "
                                "its name")
    return problems
