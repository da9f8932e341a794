"""Installed versions, as manifests and reports record them."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "rm-r1-recipe"


def version_of(dist: str) -> str | None:
    """The installed version of distribution ``dist`` (None when it is not installed)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def tool_version() -> str:
    """This project's installed version (``unknown`` when run from a tree that was never installed)."""
    return version_of(DISTRIBUTION) or "unknown"
