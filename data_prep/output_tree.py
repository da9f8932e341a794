"""All variants of a build land in ``--out`` together, or none does; a killed build is undone next time.

A build writes each variant into a hidden staging folder inside ``--out``
(``{out}/.build-XXXX/new/{variant}/``). Only when every variant is complete does :meth:`OutputTree.commit`
swap them in: it writes a journal naming the variants, then for each one renames the old folder
aside (``.build-XXXX/old/{variant}``) and the new one into place, and finally deletes the journal (the
commit point). Each rename is atomic, the sequence is not, so:

* a build that fails, is interrupted (Ctrl-C) or hits a full disk before the journal is deleted rolls
  the renames back at once and leaves the old tree byte for byte as it was;
* a build killed outright (SIGKILL, power loss) leaves its staging folder behind; the next build into
  the same ``--out`` (or :func:`recover`) rolls back the half-done swap and deletes every stale
  staging folder, including the ``.{variant}.tmp-*``/``.{variant}.old-*`` folders of older versions.

Two builds into one ``--out`` at once would undo each other, so the folder is locked (``flock`` on the
folder itself: no lock file to leave behind, and a killed holder releases it).

The mechanism itself (stage, journal, lock, swap, undo, recover) is :class:`StagedSwap`, which
:mod:`data_prep.distill_commit` also builds on for its output files; :class:`OutputTree` is the
variant-folder flavour of it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from data_prep.errors import BuildError
from infra.atomic_files import write_text_atomic
from infra.cli_errors import RunFailed

STAGE_PREFIX = ".build-"
JOURNAL = "journal.json"
# ".{variant}.tmp-XXXXXXXX" and ".{variant}.old-XXXXXXXX" (mkdtemp names) from the old one-folder swap
_LEGACY = re.compile(r"^\.[a-z0-9][a-z0-9_.-]{0,63}\.(tmp|old)-[a-z0-9_]{8}$")


class StagedSwap:
    """Entries staged in ``{folder}/{prefix}XXXX/new/`` and swapped into ``folder`` together behind a journal.

    Subclasses set ``prefix`` and ``journal_key`` (the journal's on-disk format), say what a busy lock
    raises (:meth:`_busy`) and may seal the new entries before the swap (:meth:`_seal`).
    """

    prefix = STAGE_PREFIX
    journal_key = "variants"

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.root = Path(folder)
        self.stage: Path | None = None
        self._lock: int | None = None
        self._created: list[Path] = []  # folders this run made (removed again if nothing is committed)
        self._committed = False

    def _begin(self) -> None:
        """Create and lock ``folder``, undo what a killed run left, check it, then make the staging folder."""
        self._created = [p for p in (self.root, *self.root.parents) if not p.exists()]
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = lock_folder(self.root)
        if self._lock is None:
            raise self._busy()
        self._recover()
        self._check()
        self.stage = Path(tempfile.mkdtemp(prefix=self.prefix, dir=self.root))
        (self.stage / "new").mkdir()

    def _busy(self) -> Exception:
        raise NotImplementedError

    def _check(self) -> None:
        """Refuse the locked, recovered folder before anything is staged (nothing by default)."""

    def _recover(self) -> None:
        recover_stages(self.root, self.prefix, self.journal_key)

    def _seal(self, new: Path, names: Sequence[str]) -> None:
        """Make the staged entries durable before they are swapped in."""
        for name in names:
            fsync_tree(new / name)

    def _swap(self, names: Sequence[str]) -> None:
        """Swap ``names`` in (those not staged are removed); on any error the old ones are put back later."""
        assert self.stage is not None, "use it as a context manager"
        new = self.stage / "new"
        self._seal(new, names)
        existed = {name: (self.root / name).exists() for name in names}
        write_text_atomic(self.stage / JOURNAL, json.dumps({self.journal_key: existed}, sort_keys=True) + "\n")
        (self.stage / "old").mkdir()
        for name in names:
            if existed[name]:
                os.replace(self.root / name, self.stage / "old" / name)
            if (new / name).exists():
                os.replace(new / name, self.root / name)
        fsync_path(self.root)
        os.unlink(self.stage / JOURNAL)  # the commit point: from here on the new entries stand
        self._committed = True

    def _cleanup(self) -> None:
        """Put back whatever was not committed, remove the staging folder, release the lock."""
        try:
            if self.stage is not None:
                undo(self.root, self.stage, self.journal_key)  # a no-op after commit: the journal is gone
                shutil.rmtree(self.stage, ignore_errors=True)
            if not self._committed:
                for folder in self._created:  # deepest first; rmdir only removes empty folders
                    with contextlib.suppress(OSError):
                        folder.rmdir()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None


class OutputTree(StagedSwap):
    """``with OutputTree(out) as tree:`` write into :meth:`folder`, then :meth:`commit` (else nothing lands)."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        super().__init__(out)
        self.out = self.root
        self._variants: list[str] = []

    def __enter__(self) -> OutputTree:
        check_out(self.out)
        try:
            self._begin()
        except OSError as err:
            self._release()
            raise BuildError(f"--out {os.fspath(self.out)!r} cannot be written ({reason(err)}); "
                             "choose a writable folder.") from err
        return self

    def _busy(self) -> Exception:
        return BuildError(f"another build is writing to --out {os.fspath(self.out)!r}; wait for it to finish or "
                          "choose another --out.")

    def _recover(self) -> None:
        recover(self.out)

    def folder(self, variant: str) -> Path:
        """The staging folder for ``variant`` (created empty)."""
        assert self.stage is not None, "use OutputTree as a context manager"
        folder = self.stage / "new" / variant
        folder.mkdir(parents=True)
        self._variants.append(variant)
        return folder

    def commit(self) -> None:
        """Swap every staged variant in; on any error the old folders are put back before it propagates."""
        self._swap(self._variants)

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        """Put back whatever the build had not committed; a write error becomes one sentence (exit 1)."""
        self._cleanup()
        if isinstance(err, OSError) and self._is_write_error(err):
            raise RunFailed(f"could not write the build into --out {os.fspath(self.out)!r} ({reason(err)}); "
                            "the old contents are unchanged; free space or fix the folder, then run again.") from err

    def _is_write_error(self, err: OSError) -> bool:
        """A full disk, or any error on a path inside ``--out`` (errors reading the inputs are not ours to word)."""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        return bool(err.filename) and Path(os.fspath(err.filename)).resolve().is_relative_to(self.out.resolve())


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or inside one, before anything is read."""
    where = not_a_folder(out)
    if where:
        raise BuildError(f"--out {os.fspath(out)!r} {where}; pass a folder (one subfolder per variant).")


def not_a_folder(folder: Path) -> str | None:
    """Why ``folder`` can never be a folder (it "is a file" or "is inside ..., which is a file"), else None."""
    probe = first_existing(folder)
    if probe.is_dir():
        return None
    return "is a file" if probe == folder else f"is inside {os.fspath(probe)!r}, which is a file"


def first_existing(path: Path) -> Path:
    """``path`` or its nearest parent that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def recover(out: str | os.PathLike[str]) -> list[Path]:
    """Undo any half-done swap left in ``out`` by a killed build and delete stale staging folders.

    Call only while holding the folder's lock (as :class:`OutputTree` does). Returns what it removed.
    """
    root = Path(out)
    removed = recover_stages(root, STAGE_PREFIX, OutputTree.journal_key)
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        if entry.is_dir() and not entry.is_symlink() and _LEGACY.match(entry.name):
            _undo_legacy(root, entry)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return sorted(removed)


def recover_stages(root: Path, prefix: str, journal_key: str) -> list[Path]:
    """Roll back the swap of every ``{prefix}*`` staging folder in ``root`` and delete them (hold the lock)."""
    removed = []
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        if entry.is_dir() and not entry.is_symlink() and entry.name.startswith(prefix):
            undo(root, entry, journal_key)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def undo(root: Path, stage: Path, journal_key: str) -> None:
    """Roll back the renames the journal in ``stage`` announced (any prefix of them may have happened)."""
    journal = stage / JOURNAL
    if not journal.exists():
        return
    existed: dict[str, bool] = json.loads(journal.read_text(encoding="utf-8"))[journal_key]
    for name, was in existed.items():
        final, old, new = root / name, stage / "old" / name, stage / "new" / name
        if old.exists():  # the old entry was moved aside; what stands in its place (if anything) is new
            if final.exists():
                _discard(final, stage)
            os.replace(old, final)
        elif not was and final.exists() and not new.exists():  # a new entry where none was before
            _discard(final, stage)
    fsync_path(root)
    journal.unlink()


def _undo_legacy(out: Path, entry: Path) -> None:
    """An ``.{variant}.old-*`` folder of the old one-folder swap holds ``{variant}`` if killed mid-swap."""
    variant = entry.name[1:].split(".old-")[0] if ".old-" in entry.name else None
    if variant and (entry / variant).is_dir() and not (out / variant).exists():
        os.replace(entry / variant, out / variant)


def _discard(path: Path, stage: Path) -> None:
    """Move ``path`` (a file or a folder) into ``stage``, which is deleted afterwards."""
    trash = Path(tempfile.mkdtemp(prefix="discard-", dir=stage))
    os.replace(path, trash / path.name)


def fsync_tree(folder: Path) -> None:
    """fsync every file under ``folder``, then the folder itself."""
    for path in folder.rglob("*"):
        if path.is_file():
            fsync_path(path)
    fsync_path(folder)


def fsync_path(path: Path) -> None:
    """fsync a file or a folder."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:  # some file systems cannot fsync a folder; the renames are still atomic
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def lock_folder(folder: Path) -> int | None:
    """An ``flock`` on ``folder`` (close the descriptor to drop it), or None when another run holds it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def reason(err: OSError) -> str:
    """A full disk, a read-only file system, or the OS's own words, in lower case."""
    return {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied"}.get(
        err.errno or -1, (err.strerror or str(err)).lower())
