"""Export round trip: checkpoints written by verl's OWN FSDP checkpoint manager (2 ranks, gloo, CPU), exported
with ``python -m launch.export`` (verl's merger inside), reloaded with transformers.

Both layouts (RL ``global_step_N/actor/``, SFT shards in ``global_step_N/``) x tied and untied embeddings.
The weights are perturbed before sharding, so an export that copied the base model instead of merging the
shards fails; the reference is the perturbed fp32 state dict, rounded to bf16 (what the merger writes).

Run as a script under torchrun, this file is the checkpoint writer (see :func:`write_checkpoints`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAYOUT_STEPS = {"rl": 2, "sft": 3}
BASE = "Qwen/Qwen2.5-7B-Instruct"  # sft_qwen7b's default model.path: a hub id, never downloaded here


def write_checkpoints(out: Path, sources: dict[str, Path]) -> None:
    """Under torchrun (2 processes): each source model, perturbed, sharded with FSDP2 and saved by verl's
    FSDPCheckpointManager in both layouts, with the tracker file verl's trainers write after a save."""
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    mesh = init_device_mesh("cpu", (dist.get_world_size(),), mesh_dim_names=("fsdp",))
    for name, src in sources.items():
        torch.manual_seed(1)  # the same perturbation on every rank
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
        with torch.no_grad():
            for param in model.parameters():
                param.add_(torch.randn_like(param) * 0.02)
        if rank == 0:
            torch.save({k: v.clone() for k, v in model.state_dict().items()}, out / f"{name}-reference.pt")
        for layer in model.model.layers:
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        manager = FSDPCheckpointManager(
            model=model, optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3), lr_scheduler=None,
            processing_class=AutoTokenizer.from_pretrained(src),
            checkpoint_config={"save_contents": ["model", "optimizer", "extra"], "load_contents": ["model"]},
        )
        for layout, step in LAYOUT_STEPS.items():
            run = out / f"{layout}-{name}"
            step_dir = run / f"global_step_{step}"
            manager.save_checkpoint(str(step_dir / "actor" if layout == "rl" else step_dir), global_step=step)
            if layout == "sft":  # the SFT trainer's CheckpointHandler adds the dataloader state per dp rank
                torch.save({}, step_dir / f"data_{rank}.pt")
            if rank == 0:
                (run / "latest_checkpointed_iteration.txt").write_text(str(step))
            dist.barrier()
    _write_lora_checkpoint(out, sources["tied"], mesh, rank)
    dist.destroy_process_group()


def _write_lora_checkpoint(out: Path, src: Path, mesh, rank: int) -> None:
    """A LoRA SFT checkpoint as verl saves one (PEFT model, lora_train_meta.json), and its merged reference."""
    import torch
    import torch.distributed as dist
    from peft import LoraConfig, get_peft_model
    from torch.distributed.fsdp import fully_shard
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    torch.manual_seed(3)
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:  # B starts at zero: give the adapter a delta to fold
                param.add_(torch.randn_like(param) * 0.05)
    if rank == 0:
        import copy

        merged = copy.deepcopy(model).merge_and_unload()
        torch.save({k: v.clone() for k, v in merged.state_dict().items()}, out / "lora-reference.pt")
    for layer in model.base_model.model.model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    trainable = [p for p in model.parameters() if p.requires_grad]
    manager = FSDPCheckpointManager(
        model=model, optimizer=torch.optim.AdamW(trainable, lr=1e-3), lr_scheduler=None,
        processing_class=AutoTokenizer.from_pretrained(src),
        checkpoint_config={"save_contents": ["model", "optimizer", "extra"], "load_contents": ["model"]},
    )
    manager.save_checkpoint(str(out / "sft-lora" / "global_step_1"), global_step=1)
    if rank == 0:
        (out / "sft-lora" / "latest_checkpointed_iteration.txt").write_text("1")
    dist.barrier()


@pytest.fixture(scope="module")
def checkpoints(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """Five verl checkpoints ({rl,sft}-{tied,untied}, sft-lora) and their fp32 references, written by 2 gloo ranks."""
    import shutil

    import torch
    from transformers import AutoConfig, Qwen2ForCausalLM

    out = tmp_path_factory.mktemp("verl_ckpts")
    untied = out / "untied-src"
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.tie_word_embeddings = False
    torch.manual_seed(2)
    Qwen2ForCausalLM(config).save_pretrained(untied)
    for file in tiny_model_dir.iterdir():
        if file.name.startswith(("tokenizer", "chat_template", "special_tokens")):
            shutil.copy(file, untied / file.name)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", __file__,
           "--write", str(out), "--tied", str(tiny_model_dir), "--untied", str(untied)]
    env = {**os.environ, "PYTHONPATH": str(repo_root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=repo_root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def data_manifests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Data-builder manifests beside the SFT and RL train files the recipes point at."""
    from infra.run_metadata import RunMetadata

    root = tmp_path_factory.mktemp("data")
    folders = {"sft": root / "sft", "rl": root / "rl"}
    (folders["rl"] / "instruct").mkdir(parents=True)
    folders["sft"].mkdir()
    RunMetadata(tool="data_prep.distill", tool_version="0", prompt_version="cor-v1", seed=3,
                config={"variant": "instruct"}).write(folders["sft"] / "manifest.json")
    RunMetadata(tool="data_prep.build_parquet", tool_version="0", prompt_version="cor-v1", seed=4,
                config={"variant": "instruct"}).write(folders["rl"] / "instruct" / "manifest.json")
    return folders


@pytest.fixture(autouse=True)
def _tiny_base(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sft_qwen7b's base model is Qwen2.5-7B; these checkpoints are the tiny model, so the export compares with it."""
    from launch.export import facts

    config = json.loads((tiny_model_dir / "config.json").read_text())
    monkeypatch.setitem(facts.BASE_MODELS, BASE, facts.model_facts(config))


def _export(argv: list[str]) -> int:
    from infra.cli_errors import run_cli
    from launch.export.cli import main

    return run_cli(main, [str(a) for a in argv], prog="python -m launch.export")


def _assert_equal_to_reference(hf_dir: Path, reference_path: Path, tied: bool) -> None:
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    reference = torch.load(reference_path, weights_only=True)
    with safe_open(str(hf_dir / "model.safetensors"), "pt") as stored:
        keys = set(stored.keys())
        assert {stored.get_tensor(k).dtype for k in keys} == {torch.bfloat16}
    assert ("lm_head.weight" in keys) is not tied  # a tied head is not stored twice
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.bfloat16)
    state = model.state_dict()
    assert set(state) == set(reference)
    for key, value in state.items():
        assert torch.equal(value, reference[key].to(torch.bfloat16)), key
    head, embed = model.lm_head.weight, model.model.embed_tokens.weight
    assert (head.data_ptr() == embed.data_ptr()) is tied
    assert model.config.tie_word_embeddings is tied


@pytest.mark.parametrize("tie", ["tied", "untied"])
def test_sft_layout_round_trip(checkpoints, data_manifests, tie, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RMR1_MODEL_PATH", raising=False)
    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(data_manifests["sft"]))
    out = tmp_path / "hf"
    assert _export([checkpoints / f"sft-{tie}", "--out", out, "--recipe", "sft_qwen7b"]) == 0
    _assert_equal_to_reference(out, checkpoints / f"{tie}-reference.pt", tied=tie == "tied")
    assert (out / "tokenizer.json").is_file() and (out / "config.json").is_file()


@pytest.mark.parametrize("tie", ["tied", "untied"])
def test_rl_layout_round_trip_reads_the_launch_spec(checkpoints, data_manifests, tie, tmp_path, monkeypatch) -> None:
    from infra.model_card import read_front
    from infra.run_metadata import RunMetadata

    monkeypatch.delenv("RMR1_SFT_DATA_DIR", raising=False)
    monkeypatch.delenv("RMR1_MODEL_PATH", raising=False)
    sft = tmp_path / "sft_hf"
    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(data_manifests["sft"]))
    assert _export([checkpoints / f"sft-{tie}", "--out", sft, "--recipe", "sft_qwen7b"]) == 0
    monkeypatch.delenv("RMR1_SFT_DATA_DIR")
    run = tmp_path / "rl_run"
    _copy_run(checkpoints / f"rl-{tie}", run)
    spec = {"schema": "launch-spec-v1", "mode": "train", "recipe": "rl_qwen7b", "overrides": [],
            "env": {"RMR1_MODEL_PATH": str(sft), "RMR1_DATA_DIR": str(data_manifests["rl"])}}
    (run / "launch").mkdir()
    (run / "launch" / "rl_qwen7b-1.spec.json").write_text(json.dumps(spec))
    (run / "launch" / "rl_qwen7b-2.spec.json").write_text(json.dumps({**spec, "mode": "validate", "recipe": "x"}))
    out = tmp_path / "rl_hf"
    assert _export([run, "--out", out]) == 0
    _assert_equal_to_reference(out, checkpoints / f"{tie}-reference.pt", tied=tie == "tied")
    front = read_front(out)
    block = front["rm_r1"]
    manifest = data_manifests["rl"] / "instruct" / "manifest.json"
    assert front["base_model"] == BASE  # passed on from the SFT export's card
    assert (block["stage"], block["recipe"], block["step"]) == ("rl", "rl_qwen7b", LAYOUT_STEPS["rl"])
    assert (block["prompt_variant"], block["prompt_version"]) == ("instruct", "cor-v1")
    assert block["data_manifest"]["content_hash"] == RunMetadata.read(manifest).content_hash()
    assert block["parent"] == {"path": str(sft), "stage": "sft", "recipe": "sft_qwen7b", "step": LAYOUT_STEPS["sft"]}
    assert block["source_checkpoint"] == str(run / "global_step_2" / "actor")


def test_sft_card_contents_and_eval_reads_the_variant(checkpoints, data_manifests, tmp_path, monkeypatch) -> None:
    from eval.judge_prompt import choose_prompt
    from infra.checkpoint_id import checkpoint_fingerprint
    from infra.model_card import read_front
    from infra.run_metadata import RunMetadata
    from launch.export.card_eval import add_eval
    from reward_fns import VERDICT_FORMAT_VERSION

    monkeypatch.delenv("RMR1_MODEL_PATH", raising=False)
    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(data_manifests["sft"]))
    out = tmp_path / "hf"
    assert _export([checkpoints / "sft-tied", "--out", out, "--recipe", "sft_qwen7b"]) == 0
    front = read_front(out)
    block = front["rm_r1"]
    assert front["base_model"] == BASE and "reward-model" in front["tags"]
    assert block["stage"] == "sft" and block["recipe"] == "sft_qwen7b" and block["step"] == 3
    assert block["prompt_variant"] == "instruct" and block["prompt_version"] == "cor-v1"
    assert block["verdict_version"] == VERDICT_FORMAT_VERSION
    manifest = data_manifests["sft"] / "manifest.json"
    assert block["data_manifest"] == {"path": str(manifest), "content_hash": RunMetadata.read(manifest).content_hash(),
                                      "tool": "data_prep.distill"}
    assert "eval" not in block  # no numbers before an eval ran
    choice = choose_prompt(None, None, out)  # what `python eval/rewardbench.py --ckpt OUT` does without --variant
    assert (choice.source, choice.variant) == ("model card", "instruct")
    summary = tmp_path / "summary.json"
    judge = f"hf:ckpt-{checkpoint_fingerprint(out)[:24]}"  # what eval's hf backend names this folder
    summary.write_text(json.dumps({"benchmark": "rewardbench", "score": 0.75, "complete": True,
                                   "coverage": {"complete": True, "scored": 4, "official": 4},
                                   "metadata": {"model": judge, "counts": {"items": 4}}}))
    add_eval(out, summary)
    block = read_front(out)["rm_r1"]
    assert block["eval"] == {"rewardbench": {"score": 0.75, "complete": True, "rows": {"scored": 4, "official": 4},
                                             "counts": {"items": 4}, "judge": judge}}
    assert block["step"] == 3 and choose_prompt(None, None, out).variant == "instruct"  # the rest is kept
    assert "| rewardbench | 75.00 |" in (out / "README.md").read_text()


def test_lora_checkpoint_exports_with_the_adapter_folded_in(checkpoints, data_manifests, tiny_model_dir, tmp_path,
                                                            monkeypatch) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(data_manifests["sft"]))
    out = tmp_path / "hf"
    assert _export([checkpoints / "sft-lora", "--out", out, "--recipe", "sft_qwen7b_lora"]) == 0
    assert (out / "lora_adapter" / "adapter_config.json").is_file()  # verl's adapter kept beside the weights
    reference = torch.load(checkpoints / "lora-reference.pt", weights_only=True)
    state = AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16).state_dict()
    assert set(state) == set(reference)
    eps = torch.finfo(torch.bfloat16).eps
    for key, value in state.items():
        want = reference[key].to(torch.bfloat16)
        if "proj" not in key:  # no adapter on it: exact
            assert torch.equal(value, want), key
        else:  # verl's merger rounds the base to bf16 before the fold: off by at most a base-sized bf16 step
            fp32 = reference[key].float()
            assert torch.allclose(value.float(), fp32, rtol=eps, atol=eps * float(fp32.abs().max())), key
    source = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).state_dict()
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(state[key], source[key])  # the fine-tuned delta is in the weights, not only the adapter


def test_base_model_is_a_hub_id_or_nothing(tmp_path) -> None:
    from infra.model_card import CardFacts, render
    from launch.export.facts import lineage

    plain, exported = tmp_path / "plain", tmp_path / "exported"
    plain.mkdir()
    exported.mkdir()
    facts = CardFacts(stage="sft", recipe="sft_qwen7b", step=3, prompt_variant="instruct", prompt_version="cor-v1",
                      verdict_version="v", base_model=BASE)
    (exported / "README.md").write_text(render(facts))
    rows = [
        (BASE, (BASE, None)),  # a hub id is the base model
        ("checkpoints/rm_r1/sft_qwen7b/hf", (None, None)),  # a path that is not there: no machine path as base
        (str(plain), (None, {"path": str(plain)})),  # a folder without a card: the parent, no base model
        (str(exported), (BASE, {"path": str(exported), "stage": "sft", "recipe": "sft_qwen7b", "step": 3})),
    ]
    for model, expected in rows:
        assert lineage(model) == expected, model


def test_reasoning_card_makes_eval_use_the_reasoning_prompt(tmp_path) -> None:
    from eval.judge_prompt import choose_prompt
    from infra.model_card import CardFacts, render

    facts = CardFacts(stage="rl", recipe="rl_ds7b", step=1, prompt_variant="reasoning", prompt_version="cor-v1",
                      verdict_version="v")
    (tmp_path / "README.md").write_text(render(facts))
    assert choose_prompt(None, None, tmp_path).variant == "reasoning"


def test_incomplete_later_step_is_skipped_with_a_warning(checkpoints, data_manifests, tmp_path, monkeypatch,
                                                         capsys) -> None:
    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(data_manifests["sft"]))
    run = tmp_path / "run"
    _copy_run(checkpoints / "sft-untied", run)
    partial = run / "global_step_5"  # a save in progress: rank 1's shard not written yet, tracker still at 3
    partial.mkdir()
    os.link(run / "global_step_3" / "model_world_size_2_rank_0.pt", partial / "model_world_size_2_rank_0.pt")
    (partial / "fsdp_config.json").write_text((run / "global_step_3" / "fsdp_config.json").read_text())
    (run / "global_step_4").mkdir()  # created, nothing in it yet
    out = tmp_path / "hf"
    assert _export([run, "--out", out, "--recipe", "sft_qwen7b", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "skipping global_step_5" in captured.err and "has not finished" in captured.err
    assert "skipping global_step_4" in captured.err and "empty" in captured.err
    assert "(step 3," in captured.out and "dry run: nothing written" in captured.out and not out.exists()
    assert _export([run, "--out", out, "--recipe", "sft_qwen7b", "--step", "5"]) == 2
    assert "global_step_5" in capsys.readouterr().err


# Bad inputs: one sentence, exit 2, nothing written.
BAD_INPUTS = [
    # an unknown layout (a Megatron checkpoint)
    ("megatron", "neither verl's RL layout"),
    # the HF config lost its architectures
    ("no_architectures", "has no 'architectures'"),
    # no global_step_N at all
    ("empty_run", "holds no global_step_N"),
    # a step number that does not exist
    ("missing_step", "has no global_step_7"),
    # no spec and no --recipe: which recipe trained it?
    ("no_recipe", "no launch spec"),
    # an SFT checkpoint exported with an RL recipe
    ("wrong_kind", "is an SFT checkpoint but recipe rl_qwen7b is RL"),
    # --push-to without the token in the environment
    ("no_token", "needs a hub token in $RMR1_TEST_NO_TOKEN"),
    # a shard that is a whole torch archive whose pickle is garbage: verl's merger failed with a traceback
    ("garbage_pickle", "cannot be loaded"),
]


@pytest.mark.parametrize(("case", "message"), BAD_INPUTS)
def test_bad_inputs_are_one_sentence(checkpoints, tmp_path, capsys, monkeypatch, case, message) -> None:
    monkeypatch.delenv("RMR1_TEST_NO_TOKEN", raising=False)
    run = tmp_path / "run"
    argv: list = [run, "--out", tmp_path / "hf", "--recipe", "sft_qwen7b"]
    if case == "megatron":
        (run / "global_step_1" / "model" / "dist_ckpt").mkdir(parents=True)
    elif case == "empty_run":
        run.mkdir()
    else:
        _copy_run(checkpoints / "sft-tied", run)
    if case == "no_architectures":
        config = run / "global_step_3" / "huggingface" / "config.json"
        kept = {k: v for k, v in json.loads(config.read_text()).items() if k != "architectures"}
        config.unlink()  # a hard link to the shared fixture: replace it, never write through it
        config.write_text(json.dumps(kept))
    if case == "garbage_pickle":
        import zipfile

        shard = run / "global_step_3" / "model_world_size_2_rank_1.pt"
        shard.unlink()  # a hard link to the shared fixture: replace it, never write through it
        with zipfile.ZipFile(shard, "w") as archive:
            archive.writestr("shard/data.pkl", b"\x80\x02garbage")
            archive.writestr("shard/version", b"3")
    argv += {"missing_step": ["--step", "7"], "no_token": ["--push-to", "org/judge", "--token-env",
                                                            "RMR1_TEST_NO_TOKEN"]}.get(case, [])
    if case == "no_recipe":
        argv = argv[:3]
    if case == "wrong_kind":
        argv[4] = "rl_qwen7b"
    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(tmp_path / "data"))  # never the checkout's data/
    assert _export(argv) == 2
    err = capsys.readouterr().err
    if case == "garbage_pickle":  # found while merging: after the manifest warning and verl's progress bar
        err = err.strip().splitlines()[-1] + "\n"
    assert err.startswith("python -m launch.export: error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "hf").exists()


def test_push_uses_the_token_from_the_environment_only(checkpoints, data_manifests, tmp_path, monkeypatch,
                                                       capsys) -> None:
    import launch.export.cli as export

    monkeypatch.setenv("RMR1_SFT_DATA_DIR", str(data_manifests["sft"]))
    monkeypatch.setenv("RMR1_TEST_HUB_TOKEN", "hf_secret_value")
    calls: list[tuple] = []

    class FakeApi:
        def __init__(self, token: str) -> None:
            calls.append(("token", token))

        def create_repo(self, **kwargs) -> None:
            calls.append(("create", kwargs["repo_id"], kwargs["private"]))

        def upload_folder(self, **kwargs) -> None:
            calls.append(("upload", sorted(p.name for p in Path(kwargs["folder_path"]).iterdir()),
                          kwargs.get("ignore_patterns")))

        def upload_file(self, **kwargs) -> None:
            calls.append(("card", kwargs["path_in_repo"], kwargs["path_or_fileobj"].decode("utf-8")))

    real_push = export.push
    monkeypatch.setattr(export, "push", lambda *a, **k: real_push(*a, **k, api_factory=FakeApi))
    base = [checkpoints / "sft-tied", "--recipe", "sft_qwen7b", "--push-to", "org/judge", "--token-env",
            "RMR1_TEST_HUB_TOKEN"]
    assert _export([*base, "--out", tmp_path / "dry", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would upload" in out and "org/judge (private)" in out and "hf_secret_value" not in out
    assert calls == [] and not (tmp_path / "dry").exists()
    assert _export([*base, "--out", tmp_path / "hf"]) == 0
    assert calls[0] == ("token", "hf_secret_value") and calls[1] == ("create", "org/judge", True)
    assert calls[2][0] == "upload" and "model.safetensors" in calls[2][1] and calls[2][2] == ["README.md"]
    # the published card is the local one without machine paths (the local one keeps full lineage)
    assert calls[3][:2] == ("card", "README.md")
    published, local = calls[3][2], (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    def paths(card: str) -> list[str]:
        return [line.split(": ", 1)[1] for line in card.splitlines() if line.strip().startswith(("path:", "source_"))]

    assert any(p.startswith("/") for p in paths(local))  # the local card keeps the full lineage
    assert paths(published) and not any(p.startswith("/") for p in paths(published))
    assert "prompt_variant: instruct" in published and "content_hash:" in published
    assert "hf_secret_value" not in capsys.readouterr().out


def _copy_run(src: Path, dst: Path) -> None:
    """Hard-link copy of a run folder (checkpoint shards are read-only inputs here)."""
    import shutil

    shutil.copytree(src, dst, copy_function=os.link)


if __name__ == "__main__":
    cli = argparse.ArgumentParser()
    cli.add_argument("--write", type=Path, required=True)
    cli.add_argument("--tied", type=Path, required=True)
    cli.add_argument("--untied", type=Path, required=True)
    ns = cli.parse_args()
    write_checkpoints(ns.write, {"tied": ns.tied, "untied": ns.untied})
