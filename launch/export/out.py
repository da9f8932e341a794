"""Where an export may go, how it lands there, and what of the hub token may be said.

* :func:`check_writable` and :func:`check_out` refuse, before any merging: an ``--out`` that is a file (or
  inside one); one that is, holds or sits inside an input (the checkpoint step, the run's base model;
  infra.output_guard); one that holds anything its model card does not say this project's export
  wrote; an earlier export without ``--force``; and, even with ``--force``, an export of another stage
  or recipe. A folder already holding this very export is kept (a rerun only pushes it).
* :func:`staging` builds the export in ``.{name}.partial-XXXX`` beside ``--out`` and holds an ``flock`` on
  it while it is in use; :func:`clean_stale` (run first) removes the ones no live export holds, which a
  SIGKILL left behind, and puts back an ``--out`` a kill left set aside mid-replace.
* :func:`replace_dir` swaps the new folder in: the old one is renamed aside, the new one renamed into
  place, then the old one removed; readers see the old export or the new one, never a mix.
* :func:`token_env_shown` / :func:`hub_token` never echo what could be the token itself.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.atomic_files import current_umask
from infra.cli_errors import OneLineParser
from infra.output_guard import check_output
from infra.redaction import MASK, is_secret_name, redact_then_cut, strip_userinfo
from launch.export.card import CARD_FILE, CardError, CardFacts, read_block
from launch.export.layout import ExportError

PARTIAL, ASIDE = ".partial-", ".old-"
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


class OneLineParser(OneLineParser):
    """argparse errors as one ExportError sentence (exit 2)."""

    error_class = ExportError


def path_arg(text: str) -> Path:
    """A path flag: non-empty and short enough to exist (else ENAMETOOLONG tracebacks)."""
    from data_prep.distill_flags import path_problem

    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass a path")
    problem = path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text[:40]!r}... {problem}")
    return Path(text)


def out_folder(text: str) -> Path:
    """``--out``: a non-empty path (an unset shell variable must not mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; pass the folder to write the Hugging Face model to")
    return path_arg(text)


def step_number(text: str) -> int:
    """``--step``: a whole number of 0 or more (at most 18 digits)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a step number (a whole number of 0 or more)")
    return int(digits)


def check_writable(out: Path) -> None:
    """Refuse an ``--out`` that is a file, sits inside one, or cannot be written (before any merging)."""
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file" if probe == out else f"is inside {probe}, which is a file"
        raise ExportError(f"--out {out} {where}; pass a folder for the Hugging Face model.")
    if not os.access(probe, os.W_OK | os.X_OK):
        from data_prep.distill_commit import unwritable

        raise ExportError(f"--out {out} cannot be written ({unwritable(probe)}); choose a writable folder.")


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


def clean_stale(out: Path) -> list[Path]:
    """Remove staging folders of dead exports beside ``out``; restore an ``out`` a kill left set aside."""
    removed: list[Path] = []
    parent = out.parent
    if not parent.is_dir():
        return removed
    for entry in sorted(parent.glob(f".{glob_escape(out.name)}.*")):
        if not entry.is_dir() or entry.is_symlink() or not (PARTIAL in entry.name or ASIDE in entry.name):
            continue
        with _try_lock(entry) as free:
            if not free:
                continue  # a live export is using it
            if ASIDE in entry.name and not out.exists():
                os.replace(entry, out)  # killed between the two renames: the old export comes back
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A locked, empty folder beside ``out`` to build in (removed afterwards unless renamed away)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(out)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}{PARTIAL}", dir=out.parent))
    except OSError as err:
        raise ExportError(f"--out {out} cannot be written ({(err.strerror or str(err)).lower()}); choose a writable "
                          "folder.") from err
    fd = os.open(work, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield work
    finally:
        os.close(fd)
        shutil.rmtree(work, ignore_errors=True)  # a no-op once renamed to out


def replace_dir(work: Path, out: Path) -> None:
    """Put ``work`` at ``out``; an existing ``out`` is set aside (locked: no cleaner takes it), then removed."""
    os.chmod(work, 0o777 & ~current_umask())  # mkdtemp makes it 0700; other users and nodes read exports
    if not out.exists():
        os.replace(work, out)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}{ASIDE}", dir=out.parent))
    fd = os.open(out, os.O_RDONLY)  # the lock follows the folder through the rename
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(out, aside)  # onto the empty folder mkdtemp made: atomic on POSIX
        os.replace(work, out)
    finally:
        os.close(fd)
    shutil.rmtree(aside, ignore_errors=True)


def token_env_shown(name: str) -> str:
    """``$NAME`` for a well-formed variable name, else a phrase that does not repeat the text."""
    if _ENV_NAME.fullmatch(name):
        return f"${name}"
    return "the variable --token-env names (not shown: it may be the token)"


def hub_token(name: str, repo: str) -> str:
    """The token from the environment variable ``name``; ExportError naming neither the token nor a pasted one."""
    if not _REPO_ID.fullmatch(repo):
        shown = repr(repo[:80]) if "/" in repo else "(not shown: without a '/' it may be a token)"
        raise ExportError(f"--push-to {shown} is not a hub repo id; pass ORG/NAME (letters, digits, . _ -).")
    if not _ENV_NAME.fullmatch(name):
        raise ExportError("--token-env must be the NAME of an environment variable (upper-case letters, digits, "
                          "underscores, e.g. HF_TOKEN), never the token itself; the value given is not shown.")
    token = os.environ.get(name, "").strip()
    if not token:
        raise ExportError(f"--push-to {repo} needs a hub token in ${name}; export it in your shell "
                          "(tokens never go on the command line or in files).")
    return token


def redacted(text: str, secrets: Iterable[str | None], limit: int = 300) -> str:
    """``text`` with the secrets masked, then cut (never the other way round)."""
    return redact_then_cut(text, secrets, limit)


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


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


@contextmanager
def _try_lock(folder: Path) -> Iterator[bool]:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
