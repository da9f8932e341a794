"""The model card (``README.md``) of an exported checkpoint: the one codec that writes and reads it.

It goes through huggingface_hub's ``ModelCard`` / ``ModelCardData`` / ``EvalResult``, so the hub reads
the same front matter we do. The project's facts sit under ``rm_r1``; the eval CLIs read
``rm_r1.prompt_variant`` and ``prompt_version`` from it (eval/judge_prompt.py), the RL launcher checks an
SFT export's card, and ``--force`` replaces only a folder whose card says this export made it::

    base_model: Qwen/Qwen2.5-7B-Instruct
    rm_r1:
      stage: rl                        # sft or rl
      recipe: rl_qwen7b
      step: 62
      prompt_variant: instruct
      prompt_version: cor-v1
      checkpoint: {architecture: Qwen2ForCausalLM, hidden_size: 3584, layers: 28, vocab_size: 152064}
      data_manifest: {path: ..., content_hash: ...}
      parent: {recipe: sft_qwen7b, step: 68, path: ...}   # the model this run started from
      files: [config.json, ...]        # what the export wrote (all --force may delete)
      eval: {rewardbench: {score: 0.87, complete: true, data: ..., rows: ...}}   # launch/export/card_eval.py
    model-index: [...]                 # EvalResult rows: complete runs only, never a partial one
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from huggingface_hub import EvalResult
from infra.cli_errors import UserError

CARD_FILE = "README.md"
CARD_KEY = "rm_r1"
TAGS = ["rm-r1", "reward-model", "generative-reward-model", "verl"]


class CardError(UserError):
    """A model card that cannot be read or updated; one sentence naming the file and the fix."""


@dataclass
class CardFacts:
    """What the card states about one exported checkpoint."""

    stage: str
    recipe: str | None
    step: int
    prompt_variant: str
    prompt_version: str
    verdict_version: str
    base_model: str | None = None
    checkpoint: dict[str, Any] | None = None
    data_manifest: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    overrides: list[str] = field(default_factory=list)
    source_checkpoint: str | None = None
    git_commit: str | None = None
    exported_at: str | None = None
    files: list[str] = field(default_factory=list)
    eval: dict[str, Any] = field(default_factory=dict)

    def block(self) -> dict[str, Any]:
        """The ``rm_r1`` front-matter block (empty values left out)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "base_model" and getattr(self, f.name) not in (None, [], {})}


def render(facts: CardFacts) -> str:
    """The whole README.md: ModelCardData front matter, then a short human-readable body."""
    from huggingface_hub import ModelCard, ModelCardData  # 0.25 s to import: only when a card is written
    results = [_eval_result(name, entry) for name, entry in sorted(facts.eval.items()) if entry.get("complete") is True]
    extra: dict[str, Any] = {CARD_KEY: facts.block()}  # our facts beside the hub's keys
    data = ModelCardData(base_model=facts.base_model, library_name="transformers", pipeline_tag="text-generation",
                         tags=TAGS, model_name=_title(facts), eval_results=results or None, **extra)
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{_body(facts)}"))


def _title(facts: CardFacts) -> str:
    return f"{facts.recipe or 'RM-R1 judge'} (step {facts.step})"


def _eval_result(name: str, entry: dict[str, Any]) -> EvalResult:
    """A complete run as the hub's EvalResult (headline score in percent)."""
    from huggingface_hub import EvalResult
    data = entry.get("data") or {}
    source = str(data.get("source") or name)
    return EvalResult(task_type="text-classification", task_name="pairwise preference judgment",
                      dataset_type=source if "/" in source and not source.startswith("/") else name,
                      dataset_name=name, dataset_split=entry.get("split"), dataset_revision=data.get("revision"),
                      metric_type="accuracy", metric_name="headline score", metric_value=round(100 * entry["score"], 2))


def _body(facts: CardFacts) -> str:
    lines = [f"# {_title(facts)}", "",
             f"A generative reward model (RM-R1 recipe, {facts.stage.upper()} stage) exported from a verl checkpoint.",
             f"It judges with the `{facts.prompt_variant}` prompt ({facts.prompt_version}); the eval CLIs read that "
             "from this card, so `python eval/rewardbench.py --ckpt <this folder>` needs no `--variant`.", ""]
    if facts.base_model:
        lines.append(f"- base model: `{facts.base_model}`")
    if facts.checkpoint:
        lines.append("- checkpoint: " + ", ".join(f"{k} {v}" for k, v in facts.checkpoint.items()))
    if facts.parent:
        lines.append(f"- started from: `{facts.parent.get('recipe')}` step {facts.parent.get('step')}")
    if facts.data_manifest:
        lines.append(f"- data manifest: `{facts.data_manifest.get('content_hash')}`")
    lines.append(f"- verdict format: `{facts.verdict_version}`")
    complete = {k: v for k, v in facts.eval.items() if v.get("complete") is True}
    if complete:
        lines += ["", "| benchmark | score | rows | data | max new tokens | parse failures | prompt |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {name} | {_score(e)} | {_rows(e)} | {_data(e)} | {e.get('max_new_tokens', '?')} | {_rate(e)} "
                  f"| {e.get('prompt_version', '?')} |" for name, e in sorted(complete.items())]
    partial = {k: v for k, v in facts.eval.items() if k not in complete}
    if partial:
        lines += ["", "Partial runs (not benchmark results):"]
        lines += [f"- {name}: {_score(e)} on {_rows(e)} rows, partial: {'; '.join(e.get('partial') or ['unknown'])}"
                  for name, e in sorted(partial.items())]
    return "\n".join(lines) + "\n"


def _rows(entry: dict[str, Any]) -> str:
    rows = entry.get("rows") or {}
    return f"{rows.get('scored', '?')} of {rows.get('official') or '?'}"


def _data(entry: dict[str, Any]) -> str:
    data = entry.get("data") or {}
    digest = str(data.get("sha256") or data.get("revision") or "")[:12]
    return f"`{Path(str(data.get('source', '?'))).name}` {digest}".strip()


def _rate(entry: dict[str, Any]) -> str:
    rate = entry.get("parse_failure_rate")
    return "?" if not isinstance(rate, (int, float)) else f"{100 * rate:.1f}%"


def _score(entry: dict[str, Any]) -> str:
    score = entry.get("score")
    return "n/a" if not isinstance(score, (int, float)) else f"{100 * score:.2f}"


def read_front(folder: str | Path) -> dict[str, Any]:
    """The card's whole front matter ({} without a card); CardError when it cannot be parsed."""
    card = Path(folder) / CARD_FILE
    if not card.is_file():
        return {}
    try:
        text = card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CardError(f"the model card {card} cannot be read as UTF-8 text ({str(err)[:120]}); fix or re-export "
                        "it.") from None
    if not text.startswith("---"):
        return {}  # a plain README (no front matter) says nothing about a model
    from huggingface_hub import ModelCard

    try:
        front: dict[str, Any] = ModelCard(text).data.to_dict()  # type: ignore[no-untyped-call]
        return front
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +1: 0-based, +1: the opening ---
        problem = " ".join(str(getattr(err, "problem", None) or type(err).__name__).split())
        raise CardError(f"the model card {card} has invalid YAML front matter{where} ({problem}); fix or re-export "
                        "it.") from None
    except (ValueError, TypeError, RecursionError) as err:
        why = "nested too deeply" if isinstance(err, RecursionError) else " ".join(str(err).split())[:160]
        raise CardError(f"the model card {card} has invalid front matter ({why}); fix or re-export it.") from None


def read_block(folder: str | Path) -> dict[str, Any]:
    """The ``rm_r1`` block of a folder's card ({} when there is none)."""
    block = read_front(folder).get(CARD_KEY)
    return dict(block) if isinstance(block, dict) else {}


def facts_of(folder: str | Path) -> CardFacts:
    """Rebuild the facts of an exported folder from its card (to update it); CardError without one."""
    front, block = read_front(folder), read_block(folder)
    missing = [k for k in ("stage", "step", "prompt_variant", "prompt_version", "verdict_version") if k not in block]
    if missing:
        raise CardError(f"{Path(folder) / CARD_FILE} lacks rm_r1.{', rm_r1.'.join(missing)}; "
                        "re-export the checkpoint with python -m launch.export.")
    known = {f.name for f in dataclasses.fields(CardFacts)}
    return CardFacts(base_model=front.get("base_model"), **{k: v for k, v in block.items() if k in known})


def _public_path(path: Any) -> Any:
    """A machine path cut to its last three parts (``run/global_step_2/actor``): lineage without the machine."""
    if not isinstance(path, str) or not Path(path).is_absolute():
        return path
    return "/".join(Path(path).parts[-3:])


def public_facts(facts: CardFacts) -> CardFacts:
    """``facts`` as a card published on a hub may show them: no absolute path of the exporting machine."""
    def scrub(block: dict[str, Any] | None, key: str = "path") -> dict[str, Any] | None:
        return None if block is None else {k: _public_path(v) if k == key else v for k, v in block.items()}

    scores = {name: {**entry, "data": scrub(entry.get("data"), "source")} if entry.get("data") else entry
              for name, entry in facts.eval.items()}
    return dataclasses.replace(facts, data_manifest=scrub(facts.data_manifest), parent=scrub(facts.parent),
                               source_checkpoint=_public_path(facts.source_checkpoint), eval=scores)
