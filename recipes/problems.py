"""The unit every check returns: one problem, one sentence naming the key and what to change."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Level = Literal["error", "warning"]


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
