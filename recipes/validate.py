"""Every check on a composed recipe, and its plan (the launcher and recipes.check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes import batches, verl_checks
from recipes.compose import Composed, Problem, error, warning
from recipes.manifest import Manifest, check_manifest, default_manifest_path, read_manifest
from recipes.plan import Plan, make_plan

CONFIG_CHECKS = (
    verl_checks.check_known_keys,
    verl_checks.check_legacy_reward,
    verl_checks.check_verl_validation,
    verl_checks.check_reward_loads,
    batches.check_batches,
    batches.check_memory,
    verl_checks.check_model_path,
    verl_checks.check_sft_messages,
)


@dataclass
class Report:
    """What the checks found: problems (errors stop a launch) and the plan when it composed."""

    recipe: str
    overrides: list[str]
    problems: list[Problem] = field(default_factory=list)
    plan: Plan | None = None
    manifest: str | None = None

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "recipe": self.recipe,
            "overrides": self.overrides,
            "ok": self.ok,
            "manifest": self.manifest,
            "problems": [p.to_dict() for p in self.problems],
            "plan": self.plan.to_dict() if self.plan else None,
        }


def check_composed(composed: Composed, manifest: Path | None = None, report: Report | None = None) -> Report:
    """Run every check on an already composed recipe (tests compose once and check many times)."""
    report = report or Report(recipe=composed.name, overrides=composed.overrides)
    report.problems += verl_checks.check_required(composed)
    if report.errors:  # every later check would fail on the same missing value
        return report
    for check in CONFIG_CHECKS:
        report.problems += check(composed)
    loaded = _load_manifest(composed, manifest, report)
    if loaded is not None:
        report.manifest = str(loaded.path)
        report.problems += check_manifest(composed, loaded)
    report.plan = make_plan(composed, loaded)
    if loaded is not None and report.plan.steps_per_epoch == 0:
        report.problems.append(warning(
            "data-size",
            f"{loaded.path} has {report.plan.train_rows:,} train rows, fewer than data.train_batch_size "
            f"({composed.cfg.data.train_batch_size:,}), so an epoch has 0 steps and nothing would train; "
            "build more data or lower data.train_batch_size."))
    return report


def _load_manifest(composed: Composed, manifest: Path | None, report: Report) -> Manifest | None:
    path = manifest if manifest is not None else default_manifest_path(composed)
    if manifest is None and not path.is_file():
        report.problems.append(warning(
            "manifest", f"no data manifest at {path}, so variant and length checks were skipped; pass --manifest."))
        return None
    try:
        return read_manifest(path)
    except ValueError as err:
        report.problems.append(error("manifest", str(err)))
        return None
