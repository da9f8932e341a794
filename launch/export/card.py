"""The model card (``README.md`` with YAML front matter) an exported checkpoint carries.

The eval CLIs read ``rm_r1.prompt_variant`` and ``rm_r1.prompt_version`` from it (eval/judge_prompt.py),
so a judge is never scored with a prompt it did not learn; the RL launcher checks the SFT export's
card before it submits. Everything else records where the weights came from::

    ---
    base_model: Qwen/Qwen2.5-7B-Instruct
    library_name: transformers
    tags: [rm-r1, reward-model, generative-reward-model, verl]
    rm_r1:
      stage: rl                       # sft or rl
      recipe: rl_qwen7b
      step: 62
      prompt_variant: instruct
      prompt_version: cor-v1
      verdict_version: ...
      data_manifest: {path: ..., content_hash: ...}
      parent: {recipe: sft_qwen7b, step: 68, path: ...}    # the model this run started from
      eval: {rewardbench: {score: 0.87, ...}}                # added by `--eval SUMMARY.json` later
    ---

    python -m launch.model_card HF_DIR --eval outputs/eval/rewardbench/<model>/summary.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.atomic_files import write_text_atomic
from infra.cli_errors import UserError

PROG = "python -m launch.model_card"
CARD_FILE = "README.md"
CARD_KEY = "rm_r1"
TAGS = ["rm-r1", "reward-model", "generative-reward-model", "verl"]
# Summary keys copied into the card: the headline and how much it covers (the full report, with every
# convention, stays in the eval folder).
EVAL_KEYS = ("score", "complete")
COUNT_KEYS = ("items", "judgments")


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
    data_manifest: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    overrides: list[str] = field(default_factory=list)
    source_checkpoint: str | None = None
    git_commit: str | None = None
    exported_at: str | None = None
    eval: dict[str, Any] = field(default_factory=dict)

    def block(self) -> dict[str, Any]:
        """The ``rm_r1`` front-matter block (None-valued keys left out)."""
        keys = ("stage", "recipe", "step", "prompt_variant", "prompt_version", "verdict_version", "data_manifest",
                "parent", "overrides", "source_checkpoint", "git_commit", "exported_at", "eval")
        return {k: getattr(self, k) for k in keys if getattr(self, k) not in (None, [], {})}


def render(facts: CardFacts) -> str:
    """The whole README.md: front matter, then a short human-readable body."""
    front: dict[str, Any] = {}
    if facts.base_model:
        front["base_model"] = facts.base_model
    front |= {"library_name": "transformers", "pipeline_tag": "text-generation", "tags": TAGS,
              CARD_KEY: facts.block()}
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n"
    return text + _body(facts)


def _body(facts: CardFacts) -> str:
    title = f"{facts.recipe or 'RM-R1 judge'} (step {facts.step})"
    lines = [f"# {title}", "",
             f"A generative reward model (RM-R1 recipe, {facts.stage.upper()} stage) exported from a verl checkpoint.",
             f"It judges with the `{facts.prompt_variant}` prompt ({facts.prompt_version}); the eval CLIs read that "
             "from this card, so `python eval/rewardbench.py --ckpt <this folder>` needs no `--variant`.", ""]
    if facts.base_model:
        lines.append(f"- base model: `{facts.base_model}`")
    if facts.parent:
        lines.append(f"- started from: `{facts.parent.get('recipe')}` step {facts.parent.get('step')}")
    if facts.data_manifest:
        lines.append(f"- data manifest: `{facts.data_manifest.get('content_hash')}`")
    lines.append(f"- verdict format: `{facts.verdict_version}`")
    if facts.eval:
        lines += ["", "| benchmark | score |", "|---|---|"]
        for name, numbers in sorted(facts.eval.items()):
            score = numbers.get("score")
            lines.append(f"| {name} | {'n/a' if score is None else f'{100 * float(score):.2f}'} |")
    return "\n".join(lines) + "\n"


def read_front(folder: str | Path) -> dict[str, Any]:
    """The card's whole front matter ({} without a card); CardError when the YAML is broken."""
    card = Path(folder) / CARD_FILE
    if not card.is_file():
        return {}
    try:
        text = card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CardError(f"the model card {card} cannot be read as UTF-8 text ({str(err)[:120]}); fix or re-export "
                        "it.") from None
    end = text.find("\n---", 3)
    if not text.startswith("---") or end < 0:
        return {}
    try:
        front = yaml.safe_load(text[3:end]) or {}
    except (yaml.YAMLError, RecursionError) as err:
        why = "nested too deeply" if isinstance(err, RecursionError) else " ".join(str(err).split())[:200]
        raise CardError(f"the model card {card} has invalid YAML front matter ({why}); fix or re-export it.") from None
    return front if isinstance(front, dict) else {}


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
    known = set(CardFacts.__dataclass_fields__)
    return CardFacts(base_model=front.get("base_model"), **{k: v for k, v in block.items() if k in known})


def _public_path(path: Any) -> Any:
    """A machine path cut to its last three parts (``run/global_step_2/actor``): lineage without the machine."""
    if not isinstance(path, str) or not Path(path).is_absolute():
        return path
    return "/".join(Path(path).parts[-3:])


def public_facts(facts: CardFacts) -> CardFacts:
    """``facts`` as a card published on a hub may show them: no absolute path of the exporting machine."""
    def scrub(block: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if block is None else {k: _public_path(v) if k == "path" else v for k, v in block.items()}

    return dataclasses.replace(facts, data_manifest=scrub(facts.data_manifest), parent=scrub(facts.parent),
                               source_checkpoint=_public_path(facts.source_checkpoint))


def eval_numbers(summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(benchmark, numbers)`` from an eval summary.json (CardError when it is not one)."""
    name = summary.get("benchmark")
    if not isinstance(name, str) or "score" not in summary:
        raise CardError("the eval summary has no 'benchmark' and 'score'; pass the summary.json an eval CLI wrote.")
    numbers = {k: summary[k] for k in EVAL_KEYS if k in summary}
    meta = summary.get("metadata") or {}
    if isinstance(meta, dict) and isinstance(meta.get("counts"), dict):
        numbers["counts"] = {k: meta["counts"][k] for k in COUNT_KEYS if k in meta["counts"]}
    return name, numbers


def add_eval(folder: str | Path, summary_path: str | Path) -> Path:
    """Record an eval summary's numbers in the folder's card (replacing that benchmark's earlier numbers)."""
    try:
        summary = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:  # RecursionError: JSON nested too deeply
        why = "nested too deeply" if isinstance(err, RecursionError) else " ".join(str(err).split())[:160]
        raise CardError(f"eval summary {summary_path} cannot be read ({why}); pass the summary.json of a "
                        "run.") from None
    facts = facts_of(folder)
    name, numbers = eval_numbers(summary if isinstance(summary, dict) else {})
    facts.eval = {**(facts.eval or {}), name: numbers}
    return write_text_atomic(Path(folder) / CARD_FILE, render(facts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="an exported model folder (python -m launch.export --out)")
    parser.add_argument("--eval", dest="summaries", type=Path, action="append", default=[], metavar="SUMMARY.json",
                        help="record this eval summary's numbers in the card (repeatable)")
    args = parser.parse_args(argv)
    for summary in args.summaries:
        add_eval(args.folder, summary)
    print(yaml.safe_dump(read_block(args.folder), sort_keys=False), end="")
    return 0

