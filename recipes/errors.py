"""The recipes' one user-error family: a recipe name, override or manifest path the user can fix.

Problems a check finds in a composed recipe are data (:class:`recipes.problems.Problem`), not
exceptions; :class:`RecipeError` is for input that stops the check itself. ``python -m recipes.check``
turns it into one sentence and exit code 2 through :func:`infra.cli_errors.run_cli`.
"""

from __future__ import annotations

from infra.cli_errors import UserError


class RecipeError(UserError):
    """A recipe cannot be composed or checked as asked; the message names the input and the fix."""
