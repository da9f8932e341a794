"""Where an export may go, and what of the hub token may be said.

:func:`check_out` refuses, before any merging: an ``--out`` that is, holds or sits inside an input (the
checkpoint step, the run's base model; infra.output_guard); one that holds anything its model card
does not say this project's export wrote; an earlier export without ``--force``; and, even with
``--force``, an export of another stage or recipe. A folder already holding this very export is kept
(a rerun only pushes it). The export lands through infra.staged_output (all or nothing, recovered
after a kill). :func:`hub_token` never echoes what could be the token itself.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infra.model_card import CARD_FILE, CardError, CardFacts, read_block
from infra.output_guard import check_output
from infra.redaction import MASK, is_secret_name, strip_userinfo
from launch.export.layout import ExportError

_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


def check_out(out: Path, inputs: list[tuple[str, Path | None]], force: bool, facts: CardFacts) -> bool:
    """Refuse an ``--out`` that must not receive this export (see the module doc); True when it already
    holds this very export (the same checkpoint step), which is then kept as it is."""
    check_output("--out", out, inputs, ours=lambda _: True)  # never an input; what is there is judged below
    if not (out.is_dir() and any(out.iterdir())):
        return False
    block = _block(out)
    if not own_export(out, block):
        raise ExportError(f"--out {out} holds files that no export of this project wrote (its model card does not "
                          "list them all), so not even --force replaces it; choose another folder.")
    if not force and (block.get("source_checkpoint"), block.get("step")) == (facts.source_checkpoint, facts.step):
        return True
    if not force:
        raise ExportError(f"--out {out} already holds {held_export(block)}; pass --force to replace it or choose "
                          "another folder.")
    if (block.get("stage"), block.get("recipe")) != (facts.stage, facts.recipe):
        raise ExportError(f"--out {out} holds {held_export(block)}, not an export of {facts.recipe} "
                          f"({facts.stage}); --force replaces only an earlier export of the same stage, so choose "
                          "another folder.")
    return False


def own_export(folder: Path, block: dict[str, Any] | None = None) -> bool:
    """True when ``folder``'s card says this project's export made it and lists every file in it."""
    block = _block(folder) if block is None else block
    files = block.get("files")
    if not (block.get("stage") and block.get("exported_at") and isinstance(files, list)):
        return False
    return {p.name for p in folder.iterdir()} <= {*map(str, files), CARD_FILE}


def force_flag(folder: Path, stage: str) -> list[str]:
    """``["--force"]`` when ``folder`` holds this project's own earlier export of ``stage`` (the pipeline's rerun)."""
    block = _block(folder) if folder.is_dir() else {}
    return ["--force"] if block.get("stage") == stage and own_export(folder, block) else []


def held_export(block: dict[str, Any]) -> str:
    """What an occupied --out holds, for a message: the earlier export's recipe and step."""
    return f"an export of {block.get('recipe') or 'a run'} step {block.get('step')} ({block.get('stage')})"


def _block(folder: Path) -> dict[str, Any]:
    try:
        return read_block(folder)
    except CardError:
        return {}


def hub_token(name: str, repo: str) -> str:
    """The token from the environment variable ``name`` (cli_flags.env_name checked it); never echoed."""
    if not _REPO_ID.fullmatch(repo):
        shown = repr(repo[:80]) if "/" in repo else "(not shown: without a '/' it may be a token)"
        raise ExportError(f"--push-to {shown} is not a hub repo id; pass ORG/NAME (letters, digits, . _ -).")
    token = os.environ.get(name, "").strip()
    if not token:
        raise ExportError(f"--push-to {repo} needs a hub token in ${name}; export it in your shell "
                          "(tokens never go on the command line or in files).")
    return token


def safe_overrides(overrides: Iterable[str]) -> list[str]:
    """Overrides for the model card (which may go public): secret-looking values masked, URL credentials cut."""
    shown = []
    for item in overrides:
        key, eq, value = str(item).partition("=")
        if eq and is_secret_name(key.lstrip("+~").rsplit(".", 1)[-1]):
            value = MASK
        shown.append(f"{key}{eq}{strip_userinfo(value) if '://' in value else value}")
    return shown


_STORAGE = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the file system is read-only"}
_STORAGE_TEXT = {"No space left on device": "the disk is full", "os error 28": "the disk is full",
                 "Disk quota exceeded": "the disk quota is used up",
                 "Read-only file system": "the file system is read-only"}


def storage_failure(err: BaseException) -> str | None:
    """"the disk is full" (or quota, read-only) when ``err`` or its cause says so in any library's words, else None."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _STORAGE:
            return _STORAGE[seen.errno]
        for text, why in _STORAGE_TEXT.items():
            if text in str(seen):
                return why
        seen = seen.__cause__ or seen.__context__
    return None
