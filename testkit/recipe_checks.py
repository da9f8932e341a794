"""Tests' one call that composes a recipe and checks it, a compose failure reported as a problem."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from recipes.compose import RecipeError, compose_recipe, error
from recipes.validate import Report, check_composed


def validate_recipe(name: str, overrides: Sequence[str] = (), manifest: Path | None = None) -> Report:
    """Compose recipe ``name`` with ``overrides`` and check it; ``manifest`` defaults to the one beside the data."""
    report = Report(recipe=name, overrides=list(overrides))
    try:
        composed = compose_recipe(name, overrides)
    except RecipeError as err:
        report.problems.append(error("compose", str(err)))
        return report
    return check_composed(composed, manifest, report)
