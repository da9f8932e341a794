"""Export a verl checkpoint to a Hugging Face model folder with a model card, through verl's own merger.

    python -m launch.export CKPT_DIR [--step N] --out HF_DIR [--recipe NAME | --spec FILE]
                            [--push-to ORG/NAME [--token-env HF_TOKEN] [--public]] [--dry-run] [--force]

CKPT_DIR is the run's ``trainer.default_local_dir`` (RL: ``global_step_N/actor/``, SFT: shards in
``global_step_N/``; launch/export/layout.py). Without ``--step`` the latest complete step is exported.
verl's ``FSDPModelMerger`` (what ``python -m verl.model_merger merge --backend fsdp`` runs) writes the
bf16 weights, config and tokenizer; a LoRA run's adapter is folded into the weights (and kept in
``lora_adapter/``). ``README.md`` gets the model card (infra/model_card.py) the eval CLIs and the RL
launcher read. The folder appears complete or not at all: it is built beside HF_DIR, then renamed. A rerun onto a
folder that already holds this step's export keeps it (and only uploads it with ``--push-to``);
``--force`` replaces only an earlier export of the same stage and recipe (launch/export/out.py).
``--push-to`` uploads it with the token from the environment variable ``--token-env`` names, never
from a flag, a file or a cached login. ``--dry-run`` resolves everything and prints the plan and the
card, writing and uploading nothing.
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from infra import cli_flags
from infra.cli_errors import OneLineParser, RunFailed
from infra.model_card import CARD_FILE, CardFacts, facts_of, public_facts, render
from infra.redaction import redact_then_cut
from infra.staged_output import StagedOutput, check_folder
from launch.export.facts import recipe_source, run_facts
from launch.export.layout import ExportError, StepDir, architectures, pick_step
from launch.export.out import check_out, hub_token, storage_failure

PROG = "python -m launch.export"
DEFAULT_TOKEN_ENV = "HF_TOKEN"


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description=__doc__.splitlines()[0], error_class=ExportError)
    p.add_argument("ckpt_dir", type=cli_flags.path, help="the run's trainer.default_local_dir (holds global_step_N/)")
    p.add_argument("--out", type=cli_flags.folder, required=True,
                   help="Hugging Face folder to write (must not exist; --force)")
    p.add_argument("--step", type=cli_flags.whole(least=0), help="step to export (default: the latest complete one)")
    p.add_argument("--recipe", help="recipe that trained the run (default: read from CKPT_DIR/launch/*.spec.json)")
    p.add_argument("--spec", type=cli_flags.path,
                   help="the launch spec of the run (default: the newest in CKPT_DIR/launch/)")
    p.add_argument("--force", action="store_true", help="replace --out if it holds an earlier export")
    p.add_argument("--push-to", metavar="ORG/NAME", help="upload the folder to this Hugging Face model repo")
    p.add_argument("--token-env", type=cli_flags.env_name, default=DEFAULT_TOKEN_ENV, metavar="VAR",
                   help=f"NAME of the environment variable holding the hub token (default {DEFAULT_TOKEN_ENV})")
    p.add_argument("--public", action="store_true", help="create the hub repo public (default private)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the card; write and upload nothing")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run_dir = args.ckpt_dir.expanduser().resolve()
    out = args.out.expanduser().resolve()
    token = hub_token(args.token_env, args.push_to) if args.push_to else None  # checked before minutes of merging
    check_folder(out, "--out", ExportError)
    step = pick_step(run_dir, args.step)
    arch = architectures(step)
    recipe, overrides, env = recipe_source(run_dir, args.spec, args.recipe)
    facts = run_facts(step, recipe, overrides, env)
    base = Path(facts.parent["path"]) if facts.parent else None
    kept = check_out(out, [("the checkpoint", step.path), ("the run's base model", base)], args.force, facts)
    print(f"export: {step.layout.upper()} checkpoint {step.local_dir} (step {step.step}, world size "
          f"{step.world_size}, {','.join(arch)}) -> {out}", flush=True)
    if args.dry_run:
        print(render(facts), end="")
        if args.push_to:
            print(f"dry run: would upload {out} to {args.push_to} ({_visibility(args)}) with the token in "
                  f"${args.token_env}")
        print("dry run: nothing written")
        return 0
    if kept:
        print(f"--out {out} already holds this export (step {step.step}); kept as it is (--force exports it again)")
    else:
        export(step, out, facts, force=args.force)
        print(f"exported {out} (model card {out / CARD_FILE})", flush=True)
    if args.push_to:
        push(out, args.push_to, token or "", private=not args.public)
        print(f"uploaded {out} to https://huggingface.co/{args.push_to}", flush=True)
    return 0


def export(step: StepDir, out: Path, facts: CardFacts, *, force: bool = False) -> Path:
    """Merge ``step`` with verl's FSDP merger into ``out`` with its card: all of it lands, or nothing.

    Built in a staging folder beside ``out`` and swapped in by infra.staged_output, which also puts
    back what a killed export left half-done.
    """
    with StagedOutput(out.parent, what="export", error=ExportError, prefix=f".{out.name}.commit-") as staged:
        work = staged.folder(out.name)
        try:
            merge_with_verl(step, work)
            fold_lora(work)
            facts.files = sorted(p.name for p in work.iterdir())  # all that --force may later replace
            (work / CARD_FILE).write_text(render(facts), encoding="utf-8")
        except Exception as err:  # safetensors and torch report a full disk as their own error types
            why = storage_failure(err)
            if why is None:
                raise
            raise RunFailed(f"could not write the export beside --out {out} ({why}); nothing was kept, free space "
                            "or choose another folder, then run again.") from None
        if out.exists() and not force:
            raise ExportError(f"--out {out} appeared while exporting; pass --force to replace it.")
        staged.commit()
    return out


def merge_with_verl(step: StepDir, target: Path) -> None:
    """verl's own FSDP merger, as ``python -m verl.model_merger merge --backend fsdp`` configures it."""
    from verl.model_merger.base_model_merger import ModelMergerConfig
    from verl.model_merger.fsdp_model_merger import FSDPModelMerger

    config = ModelMergerConfig(operation="merge", backend="fsdp", local_dir=str(step.local_dir),
                               target_dir=str(target), hf_model_config_path=str(step.hf_config_dir))
    merger = FSDPModelMerger(config)
    try:
        merger.merge_and_save()
    except (pickle.UnpicklingError, EOFError) as err:  # torch.load of a shard whose archive looked whole
        raise ExportError(f"a checkpoint file in {step.local_dir} cannot be loaded ({type(err).__name__}: "
                          f"{str(err)[:120]}); export another --step, or resume the run so it saves again.") from None
    except (AssertionError, NotImplementedError, ValueError) as err:
        raise RunFailed(f"verl's merger could not merge {step.local_dir}: {err}") from err
    finally:
        merger.cleanup()


def fold_lora(folder: Path) -> bool:
    """Fold the LoRA adapter verl's merger set aside (``lora_adapter/``) into the weights; False without one.

    verl writes the frozen base weights plus the adapter; a judge served by vLLM or used as the RL
    stage's starting point needs the fine-tuned weights themselves.
    """
    adapter = folder / "lora_adapter"
    if not (adapter / "adapter_config.json").is_file():
        return False
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    # Folded in fp32, rounded to bf16 once: a bf16 fold would round the delta and the sum separately.
    base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    merged.to(torch.bfloat16).save_pretrained(folder)
    return True


def push(folder: Path, repo: str, token: str, *, private: bool, api_factory: Callable[..., Any] | None = None) -> None:
    """Create ``repo`` (if needed) and upload ``folder`` with ``token``; RunFailed naming the hub's reason."""
    if api_factory is None:
        from huggingface_hub import HfApi

        api_factory = HfApi
    api = api_factory(token=token)
    try:
        api.create_repo(repo_id=repo, repo_type="model", private=private, exist_ok=True)
        # the local card keeps full lineage paths; the published one names no folder of this machine
        card = render(public_facts(facts_of(folder))).encode("utf-8")
        api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="model", ignore_patterns=[CARD_FILE],
                          commit_message=f"Export {folder.name} with launch.export")
        api.upload_file(path_or_fileobj=card, path_in_repo=CARD_FILE, repo_id=repo, repo_type="model",
                        commit_message="Model card")
    except Exception as err:  # hub, network and auth errors all end the same way: say which and stop
        why = redact_then_cut(str(err), [token], 300)
        raise RunFailed(f"uploading {folder} to {repo} failed ({type(err).__name__}: {why}); "
                        "the export is kept, so rerun the same command after fixing it (it uploads the kept "
                        "folder).") from None


def _visibility(args: argparse.Namespace) -> str:
    return "public" if args.public else "private"

