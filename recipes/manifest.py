"""Compare a recipe with the data manifest the data builder wrote beside its parquet files.

The manifest is run-metadata JSON (``infra.run_metadata``), read by ``infra.user_json``. Its
``config`` holds ``variant``, ``tokenizer``, ``max_prompt_length`` and ``chat_template_kwargs``.

Decisions:
- variant: the recipe's ``variant`` config-group choice (SFT recipes are instruct-only). A mismatch is an
  error: instruct prompts carry a CoR system message that reasoning models were never meant to see.
- max prompt length: must equal ``data.max_prompt_length`` (``data.max_length`` for SFT when the
  manifest records ``max_length``); any difference is an error, since longer data is dropped or fails
  and shorter data means the recipe reserves budget the data never uses.
- tokenizer: a WARNING, compared only when the recipe's tokenizer is a hub id (not a local export). One
  data build serves several sizes and fine-tuned exports, so a different name is not proof of a
  different tokenizer; names are compared without the size (``-7B``) part.
- chat-template kwargs: a warning when they differ (prompt lengths were measured with other ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from infra.hub import looks_like_hub_id
from infra.user_json import BadJson, parse_json
from recipes.compose import Composed, Problem, error, safe_select, warning

_SIZE = re.compile(r"-\d+(\.\d+)?b(?=-|$)")


@dataclass(frozen=True)
class Manifest:
    """The parts of a data manifest the recipes use; all but path and train_rows are ``config`` keys of that name."""

    path: Path
    variant: str | None
    tokenizer: str | None
    max_prompt_length: int | None
    max_length: int | None
    chat_template_kwargs: dict[str, Any] | None
    train_rows: int | None


def default_manifest_path(composed: Composed) -> Path:
    """``manifest.json`` beside the recipe's train file (where the data builder writes it)."""
    train = composed.cfg.data.train_files
    first = train[0] if not isinstance(train, str) else train
    return Path(str(first)).expanduser().parent / "manifest.json"


def read_manifest(path: Path) -> Manifest:
    """Load ``path``; raises ValueError with one sentence when it is missing or not a manifest."""
    if not path.is_file():
        raise ValueError(f"data manifest {path} does not exist; build the data first or pass the right --manifest.")
    try:
        data = parse_json(path.read_bytes(), strict=False)  # as json.loads, plus the depth, digits and UTF-8 guards
    except BadJson as err:
        raise ValueError(f"data manifest {path} {err}; rebuild the data.") from err
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise ValueError(f"data manifest {path} has no 'config' object; rebuild the data with the data builder.")
    from_config = {f.name: config.get(f.name) for f in fields(Manifest) if f.name not in ("path", "train_rows")}
    return Manifest(path=path, train_rows=_train_rows(data), **from_config)


def recipe_variant(composed: Composed) -> str | None:
    """The prompt variant a recipe trains on: its ``variant`` choice; SFT recipes are instruct-only."""
    return composed.choices.get("variant") or ("instruct" if composed.kind == "sft" else None)


def check_manifest(composed: Composed, manifest: Manifest) -> list[Problem]:
    """Variant, prompt length, tokenizer and chat-template kwargs of the data agree with the recipe."""
    problems = []
    variant = recipe_variant(composed)
    if manifest.variant != variant:
        fix = f"pass variant={manifest.variant}" if composed.kind == "rl" else "point data.train_files at SFT data"
        problems.append(error(
            "manifest",
            f"{manifest.path} was built for the {manifest.variant!r} prompt variant but the recipe trains on "
            f"{variant!r}; rebuild the data for {variant!r} or {fix}."))
    problems += _lengths(composed, manifest)
    problems += _tokenizer(composed, manifest)
    kwargs = OmegaConf.to_container(composed.cfg.data.get("apply_chat_template_kwargs") or OmegaConf.create({}))
    if manifest.chat_template_kwargs is not None and manifest.chat_template_kwargs != kwargs:
        problems.append(warning(
            "manifest",
            f"{manifest.path} measured prompts with chat_template_kwargs {manifest.chat_template_kwargs} but the "
            f"recipe renders them with data.apply_chat_template_kwargs {kwargs}; make the two the same."))
    return problems


def _lengths(composed: Composed, manifest: Manifest) -> list[Problem]:
    key, data_len = ("data.max_prompt_length", manifest.max_prompt_length)
    if composed.kind == "sft":
        key, data_len = ("data.max_length", manifest.max_length)
    if data_len is None:
        return []
    recipe_len = OmegaConf.select(composed.cfg, key)
    if data_len == recipe_len:
        return []
    what = "prompts" if composed.kind == "rl" else "rows"
    effect = f"longer {what} would be dropped or fail" if data_len > recipe_len else "the recipe reserves unused budget"
    return [error(
        "manifest",
        f"{manifest.path} limited {what} to {data_len} tokens but {key} is {recipe_len} ({effect}); "
        f"set {key}={data_len} or rebuild the data with a {recipe_len}-token limit.")]


def _tokenizer(composed: Composed, manifest: Manifest) -> list[Problem]:
    model = composed.cfg.actor_rollout_ref.model if composed.kind == "rl" else composed.cfg.model
    ours = str(safe_select(model, "tokenizer_path") or safe_select(model, "path"))
    theirs = manifest.tokenizer
    if not theirs or not looks_like_hub_id(ours) or Path(ours).exists() or _family(ours) == _family(theirs):
        return []
    return [warning(
        "manifest",
        f"{manifest.path} measured prompt lengths with tokenizer {theirs} but the recipe trains {ours}; "
        f"rebuild the data with tokenizer {ours} unless the two share a tokenizer and chat template.")]


def _family(name: str) -> str:
    """Tokenizer family: the lower-cased name without its size, so Qwen2.5-7B and -14B match."""
    return _SIZE.sub("", name.strip().rstrip("/").lower())


def _train_rows(data: dict[str, Any]) -> int | None:
    """Train rows from ``outputs`` (the train parquet's ``rows``) or ``counts`` (``train`` / ``train_rows``)."""
    for out in data.get("outputs") or []:
        if isinstance(out, dict) and Path(str(out.get("path", ""))).stem == "train" and out.get("rows") is not None:
            return int(out["rows"])
    counts = data.get("counts") or {}
    for key in ("train", "train_rows"):
        if isinstance(counts.get(key), int):
            return counts[key]
    return None
