"""Negative cases: each mistake a recipe can carry is caught with a message naming the key and the fix."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.run_metadata import OutputRef, RunMetadata
from recipes.compose import RECIPES_DIR, Composed, compose_recipe
from recipes.manifest import check_manifest, read_manifest
from recipes.validate import Report, check_composed
from testkit.recipe_checks import validate_recipe

ENV_VARS = ("RMR1_DATA_DIR", "RMR1_SFT_DATA_DIR", "RMR1_MODEL_PATH", "RMR1_OUTPUT_DIR")
_CACHE: dict[tuple[str, tuple[str, ...]], Composed] = {}


@pytest.fixture(autouse=True, scope="module")
def clean_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_VARS:
            mp.delenv(name, raising=False)
        # The relative defaults (data/rm_r1/...) resolve against an empty folder, never the checkout's data/,
        # which holds whatever the user built by following the README.
        mp.chdir(tmp_path_factory.mktemp("no_data"))
        yield


def composed(name: str, *overrides: str) -> Composed:
    """Compose once per module: checks read the config and never change it."""
    key = (name, overrides)
    if key not in _CACHE:
        _CACHE[key] = compose_recipe(name, list(overrides))
    return _CACHE[key]


def found(report: Report, check: str, level: str = "error") -> list[str]:
    return [p.message for p in report.problems if p.check == check and p.level == level]


@pytest.fixture(scope="module")
def recipe_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of recipes/ (yaml only) to add broken recipes to without touching the tree."""
    target = tmp_path_factory.mktemp("copy") / "recipes"
    shutil.copytree(RECIPES_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


PRIMARY = """hydra:
  searchpath: [pkg://verl.trainer.config]
defaults: [ppo_trainer, base/grpo, {variant: instruct}, {size: 7b}, _self_]
actor_rollout_ref:
  model:
    path: Qwen/Qwen2.5-7B-Instruct
"""


def _write(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(PRIMARY + body, encoding="utf-8")
    return path


# --- keys Hydra accepts silently ----------------------------------------------------------------------


def test_typo_inside_a_recipe_yaml_composes_but_is_rejected(recipe_copy: Path) -> None:
    _write(recipe_copy, "rl_typo", "  actor:\n    optim:\n      lrr: 1.0e-6\n")
    c = compose_recipe("rl_typo", config_dir=recipe_copy)  # Hydra itself says nothing
    assert c.cfg.actor_rollout_ref.actor.optim.lrr == 1e-6
    messages = found(check_composed(c), "known-keys")
    assert messages == [
        "recipes/rl_typo.yaml sets actor_rollout_ref.actor.optim.lrr, which verl 0.9.1's ppo_trainer does not have "
        "(it would be silently ignored); did you mean actor_rollout_ref.actor.optim.lr?"
    ]


def test_typo_in_a_shared_fragment_names_the_fragment(recipe_copy: Path) -> None:
    size = recipe_copy / "size" / "7b.yaml"
    original = size.read_text(encoding="utf-8")
    size.write_text(original.replace("gpu_memory_utilization", "gpu_memory_utilisation"), encoding="utf-8")
    try:
        _write(recipe_copy, "rl_frag", "")
        messages = found(check_composed(compose_recipe("rl_frag", config_dir=recipe_copy)), "known-keys")
    finally:
        size.write_text(original, encoding="utf-8")
    assert len(messages) == 1
    assert messages[0].startswith("recipes/size/7b.yaml sets actor_rollout_ref.rollout.gpu_memory_utilisation")
    assert messages[0].endswith("did you mean actor_rollout_ref.rollout.gpu_memory_utilization?")


@pytest.mark.parametrize(
    ("overrides", "check", "needle"),
    [
        # `+` lets Hydra add any key: our check still catches it and names the override.
        (["+actor_rollout_ref.actor.optim.lrr=1e-6"], "known-keys", "override '+actor_rollout_ref.actor.optim.lrr"),
        # Without `+` Hydra refuses an unknown key itself: reported as a compose error, not a traceback.
        (
            ["actor_rollout_ref.actor.optim.lrr=1e-6"],
            "compose",
            "Could not override 'actor_rollout_ref.actor.optim.lrr'",
        ),
        # The legacy top-level reward key exists in verl's yaml, so it composes, and verl never reads it.
        (
            ["custom_reward_function.path=pkg://reward_fns.score"],
            "legacy-reward",
            "set reward.custom_reward_function.path",
        ),
        (["reward_model.reward_manager=dapo"], "legacy-reward", "set reward.reward_manager.name instead"),
        (["+sandbox_fusion.url=http://x"], "legacy-reward", "set reward.sandbox_fusion.url instead"),
        # A reward module that does not exist fails on every reward worker after the model is loaded.
        (["reward.custom_reward_function.path=pkg://reward_fns.nope"], "reward", "No module named 'reward_fns.nope'"),
        (["reward.custom_reward_function.path=null"], "reward", "set it to pkg://reward_fns.score"),
        # verl's own validation runs: an invalid loss aggregation mode is verl's error, reported as such.
        (["actor_rollout_ref.actor.loss_agg_mode=seq-mean"], "verl-validate", "Invalid loss_agg_mode: seq-mean"),
    ],
)
def test_bad_key_or_reward_override_is_rejected(overrides: list[str], check: str, needle: str) -> None:
    report = validate_recipe("rl_qwen7b", overrides)
    assert not report.ok
    messages = found(report, check)
    assert any(needle in m for m in messages), messages


def test_legacy_reward_inside_a_recipe_yaml_is_rejected(recipe_copy: Path) -> None:
    body = "custom_reward_function:\n  path: pkg://reward_fns.score\n  name: compute_score\n"
    _write(recipe_copy, "rl_legacy", body)
    messages = found(check_composed(compose_recipe("rl_legacy", config_dir=recipe_copy)), "legacy-reward")
    assert messages == [
        f"recipes/rl_legacy.yaml sets legacy custom_reward_function.{k}, which verl 0.9.1's trainer never reads "
        f"(a silently ignored reward); set reward.custom_reward_function.{k} instead."
        for k in ("path", "name")
    ]


def test_reward_kwargs_are_an_open_map_and_reach_the_reward() -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    c = composed("rl_qwen7b", "+reward.custom_reward_function.reward_kwargs.incorrect=0.0")
    assert found(check_composed(c), "known-keys") == []
    score = get_custom_reward_fn(c.cfg)
    assert score(data_source="d", solution_str="<answer>[[B]]</answer>", ground_truth="A")["score"] == 0.0


def test_missing_model_for_byo_names_the_key_and_the_variable() -> None:
    report = validate_recipe("rl_byo")
    assert [str(p) for p in report.problems] == [
        "ERROR [required] actor_rollout_ref.model.path = ${oc.env:RMR1_MODEL_PATH} does not resolve (Environment "
        "variable 'RMR1_MODEL_PATH' not found); pass actor_rollout_ref.model.path=<value> or set RMR1_MODEL_PATH."
    ]
    assert report.plan is None


# --- batch arithmetic -----------------------------------------------------------------------------------

A = "actor_rollout_ref"


@pytest.mark.parametrize(
    ("recipe", "overrides", "level", "needles"),
    [
        # 1,024 prompts do not split into mini-batches of 96: name both numbers and a divisor to use.
        ("rl_qwen7b", (f"{A}.actor.ppo_mini_batch_size=96",), "error", ["ppo_mini_batch_size 96", "such as 128"]),
        # A mini-batch larger than the step.
        ("rl_qwen7b", (f"{A}.actor.ppo_mini_batch_size=2048",), "error", ["data.train_batch_size 1024"]),
        # 7,168 rollouts over 24 GPUs (3 nodes): 1,024 prompts must become a multiple of 24.
        ("rl_qwen7b", ("trainer.nnodes=3",), "error", ["over 24 data-parallel", "multiple of 24"]),
        # 6-GPU nodes: 7,168 % 6 != 0.
        ("rl_qwen7b", ("trainer.n_gpus_per_node=6",), "error", ["7168 rollouts", "multiple of 6"]),
        # One mini-batch of 8 prompts x 7 = 56 sequences cannot split over 16 ranks.
        ("rl_qwen7b", ("trainer.nnodes=2", f"{A}.actor.ppo_mini_batch_size=8"), "error", ["56 sequences", "of 16"]),
        # Fixed micro batches (dynamic off): 112 sequences per GPU are not a multiple of 3.
        (
            "rl_qwen7b",
            (f"{A}.actor.use_dynamic_bsz=false", f"{A}.actor.ppo_micro_batch_size_per_gpu=3"),
            "error",
            ["ppo_micro_batch_size_per_gpu=3", "divisor of 112"],
        ),
        # GRPO with one sample per prompt has no group to compare.
        ("rl_qwen7b", (f"{A}.rollout.n=1",), "error", ["rollout.n is 1", "set it >= 2"]),
        # vLLM replicas live inside one node: TP 3 does not divide 8 GPUs.
        ("rl_qwen7b", (f"{A}.rollout.tensor_model_parallel_size=3",), "error", ["tensor_model_parallel_size 3"]),
        # A dynamic budget below one sequence can never place a full-length rollout.
        (
            "rl_qwen7b",
            (f"{A}.actor.ppo_max_token_len_per_gpu=8192",),
            "error",
            ["ppo_max_token_len_per_gpu 8192", "at least 12288"],
        ),
        # Above one sequence but under verl's 2x guidance: a warning.
        ("rl_qwen7b", (f"{A}.actor.ppo_max_token_len_per_gpu=16384",), "warning", ["2 x (prompt + response) = 24576"]),
        # verl's default chunked-prefill budget is below one sequence.
        ("rl_qwen7b", (f"{A}.rollout.max_num_batched_tokens=8192",), "warning", ["at least 12288"]),
        # SFT: 100 rows do not split over 8 GPUs and verl would silently floor the batch to 96.
        ("sft_qwen7b", ("data.train_batch_size=100",), "error", ["floor it to 96", "multiple of 8"]),
        # SFT: verl's default 8,192-token budget cannot hold one 12,288-token trace.
        ("sft_qwen7b", ("data.max_token_len_per_gpu=8192",), "error", ["at least 12288"]),
    ],
)
def test_batch_problems_name_the_number_to_change(
    recipe: str, overrides: tuple[str, ...], level: str, needles: list[str]
) -> None:
    report = check_composed(composed(recipe, *overrides))
    messages = found(report, "batch", level)
    assert len(messages) == 1, messages
    for needle in needles:
        assert needle in messages[0]
    assert report.ok == (level == "warning")


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        (("trainer.nnodes=1",), True),  # 32B state on 8 GPUs: ~66 GB/GPU beside vLLM's 48 GB
        # The fix the warning names: offload both, room for vLLM again.
        (
            (
                "trainer.nnodes=1",
                f"{A}.actor.fsdp_config.param_offload=true",
                f"{A}.actor.fsdp_config.optimizer_offload=true",
            ),
            False,
        ),
        ((), False),  # the recipe's own 4 nodes
    ],
)
def test_memory_estimate_warns_for_32b_on_one_node(overrides: tuple[str, ...], warned: bool) -> None:
    messages = found(check_composed(composed("rl_ds32b", *overrides)), "memory", "warning")
    assert bool(messages) == warned
    if warned:
        assert "param_offload=true and optimizer_offload=true" in messages[0]


# --- the data manifest ----------------------------------------------------------------------------------


def _manifest(folder: Path, rows: int = 20_480, **config: object) -> Path:
    """A manifest written by the project's own run-metadata writer, as the data builder does."""
    base: dict[str, object] = {
        "variant": "instruct",
        "tokenizer": "Qwen/Qwen2.5-7B-Instruct",
        "max_prompt_length": 4096,
        "chat_template_kwargs": {},
    }
    meta = RunMetadata(
        tool="data_prep.build_parquet",
        tool_version="0.1.0",
        prompt_version="cor-v1",
        seed=7,
        config=base | config,
        counts={"train": rows, "val": 512},
        outputs=[OutputRef(path="train.parquet", sha256="0" * 64, rows=rows)],
    )
    return meta.write(folder / "manifest.json")


@pytest.mark.parametrize(
    ("recipe", "config", "level", "needles"),
    [
        # Data cut at 2,048 tokens but the recipe reserves 4,096: name both and both fixes.
        ("rl_qwen7b", {"max_prompt_length": 2048}, "error", ["limited prompts to 2048", "data.max_prompt_length=2048"]),
        # Data longer than the recipe: verl would drop prompts.
        ("rl_qwen7b", {"max_prompt_length": 8192}, "error", ["longer prompts would be dropped"]),
        # Instruct recipe on data built for reasoning models.
        ("rl_qwen7b", {"variant": "reasoning"}, "error", ["'reasoning' prompt variant", "pass variant=reasoning"]),
        # Reasoning model measured with an instruct tokenizer: a warning (names alone cannot prove a mismatch).
        ("rl_ds7b", {"variant": "reasoning"}, "warning", ["tokenizer Qwen/Qwen2.5-7B-Instruct"]),
        # Qwen3 renders with enable_thinking; the data was measured without it.
        ("rl_qwen3_8b", {"variant": "reasoning", "tokenizer": "Qwen/Qwen3-8B"}, "warning", ["enable_thinking"]),
    ],
)
def test_manifest_disagreements(
    recipe: str, config: dict[str, object], level: str, needles: list[str], tmp_path: Path
) -> None:
    report = check_composed(composed(recipe), _manifest(tmp_path, **config))
    messages = found(report, "manifest", level)
    assert len(messages) == 1, messages
    for needle in needles:
        assert needle in messages[0]


@pytest.mark.parametrize(
    ("recipe", "config"),
    [
        ("rl_qwen7b", {}),  # the data built for it
        ("rl_qwen32b", {}),  # one instruct build serves every Qwen2.5-Instruct size
        ("rl_ds14b", {"variant": "reasoning", "tokenizer": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"}),
        ("sft_qwen7b", {"max_length": 12288}),  # SFT compares the row length, not the prompt length
    ],
)
def test_matching_manifest_passes_and_feeds_the_plan(recipe: str, config: dict[str, object], tmp_path: Path) -> None:
    report = check_composed(composed(recipe), _manifest(tmp_path, rows=20_480, **config))
    assert [p for p in report.problems if p.check == "manifest"] == []
    assert report.plan is not None
    assert report.plan.train_rows == 20_480
    assert report.plan.steps_per_epoch == 20_480 // report.plan.prompts_per_step


def test_default_manifest_is_found_beside_the_train_file(tmp_path: Path) -> None:
    path = _manifest(tmp_path / "instruct", max_prompt_length=1024)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RMR1_DATA_DIR", str(tmp_path))
        report = check_composed(composed("rl_qwen7b"))
    assert report.manifest == str(path)
    assert found(report, "manifest")  # and it was compared: 1,024 != 4,096


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),  # a --manifest path that is not there
        ("{not json", "is not valid JSON"),
        ('{"tool": "x"}', "has no 'config' object"),
    ],
)
def test_unreadable_manifest_is_an_error(content: str | None, needle: str, tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    report = check_composed(composed("rl_qwen7b"), path)
    assert any(needle in m for m in found(report, "manifest"))
    with pytest.raises(ValueError, match=needle):
        read_manifest(path)


def test_check_manifest_reads_the_real_writer_format(tmp_path: Path) -> None:
    manifest = read_manifest(_manifest(tmp_path, rows=1234))
    assert (manifest.variant, manifest.max_prompt_length, manifest.train_rows) == ("instruct", 4096, 1234)
    assert check_manifest(composed("rl_qwen7b"), manifest) == []


# --- Hydra's global state and the CLI -------------------------------------------------------------------


def test_compose_leaves_an_existing_hydra_session_alone() -> None:
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        compose_recipe("rl_ds7b")
        assert GlobalHydra.instance().is_initialized()
    assert not GlobalHydra.instance().is_initialized()


CLI_BAD_INPUT = [
    # an unknown recipe: the known ones are listed
    (["rl_qwen8b"], "no recipe named 'rl_qwen8b' in recipes/; use one of policy_rl_qwen7b, policy_rl_qwen7b_scalar, "
     "rl_byo,"),
    # an override Hydra rejects (a key verl lacks, given without +)
    (["rl_qwen7b", "trainer.no_such_key=1"], "does not compose"),
    # a --manifest that is not there
    (["rl_qwen7b", "--manifest", "{tmp}/nope.json"], "nope.json does not exist; pass the manifest.json"),
    # a --manifest that is a folder
    (["rl_qwen7b", "--manifest", "{tmp}"], "is a directory; pass the manifest.json"),
]


@pytest.mark.parametrize(("argv", "message"), CLI_BAD_INPUT)
def test_cli_bad_input_is_one_sentence_and_exit_2(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    """Issue 11 item 5: bad input exits 2 (it exited 1, as a NOT READY verdict), one line, no traceback."""
    from recipes.check import main

    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("python -m recipes.check: error: ") and message in err
    assert "\n" not in err and "Traceback" not in err and captured.out == ""


def test_cli_not_ready_recipe_exits_1(capsys) -> None:
    """A recipe the check finds wrong is a verdict (exit 1), not bad input."""
    from recipes.check import main

    assert main(["rl_qwen7b", "data.train_batch_size=1000"]) == 1
    assert "NOT READY: rl_qwen7b" in capsys.readouterr().out


def test_cli_ctrl_c_exits_130(monkeypatch, capsys) -> None:
    import recipes.check as check

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(check, "compose_recipe", interrupted)
    assert check.main(["rl_qwen7b"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_data_smaller_than_one_batch_warns_that_nothing_would_train(tmp_path: Path) -> None:
    report = check_composed(composed("rl_qwen7b"), _manifest(tmp_path, rows=20))
    messages = found(report, "data-size", "warning")
    assert len(messages) == 1 and "20 train rows" in messages[0] and "0 steps" in messages[0]
    assert report.plan is not None and report.plan.steps_per_epoch == 0
    assert found(check_composed(composed("rl_qwen7b"), _manifest(tmp_path, rows=20_480)), "data-size", "warning") == []
