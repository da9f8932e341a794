"""The SFT recipe check against distillation output: RL prompts are refused, SFT data and its manifest accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from data_prep.distill.output import SFT_MAX_LENGTH
from data_prep.distill.passes import Teacher
from data_prep.distill.run import DistillOptions, distill
from recipes.compose import RECIPES_DIR
from testkit.cor_policies import case_teacher, write_case_rows
from testkit.loopback_judge import LoopbackJudge
from testkit.recipe_checks import validate_recipe

CORRECT = [("correct", "A"), ("correct", "B")] * 2


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RMR1_SFT_DATA_DIR", "RMR1_MODEL_PATH", "RMR1_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)


def _sft(tmp: Path, variant: str) -> Path:
    source = write_case_rows(tmp / f"{variant}.parquet", CORRECT, variant)

    def teacher(prompt: str) -> str:  # the reasoning prompt gets thinking first, the instruct one a CoR trace
        text = case_teacher(prompt)
        return f"Thinking it over.\n</think>\n\n{text[text.rindex('<answer>'):]}" if variant == "reasoning" else text

    with LoopbackJudge(teacher) as judge:
        result = distill(DistillOptions(input=source, out=tmp / f"sft_{variant}", val_size=0, progress=False,
                                        teacher=Teacher(judge.base_url, judge.model)))
    return result.out / "train.parquet"


def _errors(*overrides: str) -> list[str]:
    report = validate_recipe("sft_qwen7b", list(overrides))
    return [f"{p.check}: {p.message}" for p in report.errors]


def test_rl_prompts_are_not_sft_data(tmp_path: Path) -> None:
    rl = write_case_rows(tmp_path / "distill.parquet", CORRECT)  # what build_parquet's distill split looks like
    errors = _errors(f"data.train_files={rl}")
    assert any(e.startswith("sft-data:") and "no 'messages' column" in e for e in errors)


def test_distilled_instruct_data_passes(tmp_path: Path) -> None:
    assert _errors(f"data.train_files={_sft(tmp_path, 'instruct')}") == []


def test_distilled_reasoning_data_is_the_wrong_prompt_variant(tmp_path: Path) -> None:
    errors = _errors(f"data.train_files={_sft(tmp_path, 'reasoning')}")
    assert any(e.startswith("manifest:") and "'reasoning' prompt variant" in e for e in errors)


def test_default_max_length_is_the_sft_recipes() -> None:
    assert OmegaConf.load(RECIPES_DIR / "base" / "sft.yaml").data.max_length == SFT_MAX_LENGTH
