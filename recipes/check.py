"""CLI: ``python -m recipes.check <recipe> [overrides...] [--manifest PATH] [--json]`` (the checks: recipes.validate).

Prints the plan and every problem. Exit codes (infra.cli_errors): 0 ready, 1 the check found an error
in the recipe, 2 bad input (an unknown recipe, an override that does not compose, a --manifest that does
not exist), one sentence and no traceback; 130 on Ctrl-C.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from infra.cli_errors import OneLineParser, run_cli
from recipes.compose import compose_recipe, list_recipes
from recipes.errors import RecipeError
from recipes.plan import format_plan
from recipes.validate import Report, check_composed

PROG = "python -m recipes.check"


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
    """Entry point; returns the exit code (bad input: one sentence on stderr and 2)."""
    return run_cli(_main, argv, prog=PROG)


class _Parser(OneLineParser):
    """argparse errors as one RecipeError sentence (exit 2)."""

    error_class = RecipeError


def _main(argv: Sequence[str] | None) -> int:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help=f"one of: {', '.join(list_recipes())}")
    parser.add_argument("overrides", nargs="*", default=[], help="Hydra overrides, e.g. trainer.nnodes=2 size=14b")
    parser.add_argument("--manifest", type=Path, help="data manifest.json (default: beside data.train_files)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.manifest is not None and not args.manifest.is_file():
        what = "is a directory" if args.manifest.is_dir() else "does not exist"
        raise RecipeError(f"--manifest {args.manifest} {what}; pass the manifest.json the data builder wrote.")
    composed = compose_recipe(args.recipe, args.overrides)  # RecipeError: exit 2
    report = check_composed(composed, args.manifest)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
