"""The unit every check returns: one problem, one sentence naming the key and what to change.

Problems a check finds are data; :class:`RecipeError` is for input that stops the check itself (an
unknown recipe, an override that does not compose): one sentence and exit 2 through ``run_cli``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from infra.cli_errors import UserError

Level = Literal["error", "warning"]


class RecipeError(UserError):
    """A recipe cannot be composed or checked as asked; the message names the input and the fix."""


@dataclass(frozen=True)
class Problem:
    """``error`` stops a launch; ``warning`` is printed and the launch may go on."""

    level: Level
    check: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.level.upper()} [{self.check}] {self.message}"


def error(check: str, message: str) -> Problem:
    """An error from ``check``."""
    return Problem("error", check, message)


def warning(check: str, message: str) -> Problem:
    """A warning from ``check``."""
    return Problem("warning", check, message)
