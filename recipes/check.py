"""CLI: ``python -m recipes.check <recipe> [overrides...] [--manifest PATH] [--json]`` (the checks: recipes.validate).

Prints the plan and every problem. Exit codes (infra.cli_errors): 0 ready, 1 the check found an error
in the recipe, 2 bad input (an unknown recipe, an override that does not compose, a --manifest that does
not exist, a train or validation file that does not exist, data that gives 0 steps per epoch), one
sentence and no traceback; 130 on Ctrl-C. The plan is printed first even then, so a recipe can be
sized on paper before its data exists.
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

import json
from collections.abc import Sequence
from pathlib import Path

from infra.cli_errors import OneLineParser, run_cli
from recipes.compose import Composed, RecipeError, compose_recipe, error, list_recipes, safe_select
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


def _main(argv: Sequence[str] | None) -> int:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0], error_class=RecipeError)
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
    if not report.errors:
        report.problems += [error("data-files", message) for message in missing_data(composed)]
    # 0 steps per epoch stays a warning for the launcher (its demo runs on sample data); here it refuses.
    report.problems = [error(p.check, p.message) if p.check == "data-size" else p for p in report.problems]
    print(json.dumps(report.to_dict(), indent=2) if args.json else render(report), flush=True)
    refusal = [p.message for p in report.errors if p.check in ("data-files", "data-size")]
    if refusal:
        raise RecipeError(refusal[0])
    return 0 if report.ok else 1


def missing_data(composed: Composed) -> list[str]:
    """One sentence per data file the recipe names that does not exist here (nothing would train)."""
    found = []
    for key in ("data.train_files", "data.val_files"):
        value = safe_select(composed.cfg, key)
        files = [value] if isinstance(value, str) else list(value or []) if value is not None else []
        found += [f"{key} {file} does not exist; build the data first (README: Data) "
                  f"or pass {key}=<an existing parquet file>." for file in map(str, files)
                  if not Path(file).expanduser().is_file()]
    return found


if __name__ == "__main__":
    raise SystemExit(main())
