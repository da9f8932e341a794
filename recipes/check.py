"""CLI: ``python -m recipes.check <recipe> [overrides...] [--manifest PATH] [--json]``.

Prints the plan and every problem; exits 1 when any problem is an error, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from recipes.compose import list_recipes
from recipes.plan import format_plan
from recipes.validate import Report, validate_recipe


def render(report: Report) -> str:
    """The text printout: plan first, then problems, then a one-line verdict."""
    parts = [format_plan(report.plan)] if report.plan else []
    parts += [str(p) for p in report.problems]
    errors = len(report.errors)
    warnings = len(report.problems) - errors
    verdict = "OK" if report.ok else "NOT READY"
    parts.append(f"{verdict}: {report.recipe} ({errors} error(s), {warnings} warning(s))")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m recipes.check", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help=f"one of: {', '.join(list_recipes())}")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. trainer.nnodes=2 size=14b")
    parser.add_argument("--manifest", type=Path, help="data manifest.json (default: beside data.train_files)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = validate_recipe(args.recipe, args.overrides, args.manifest)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
