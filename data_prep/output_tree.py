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
from pathlib import Path
from types import TracebackType

from data_prep.errors import BuildError
from infra.atomic_files import write_text_atomic
from infra.cli_errors import RunFailed

STAGE_PREFIX = ".build-"
JOURNAL = "journal.json"
# ".{variant}.tmp-XXXXXXXX" and ".{variant}.old-XXXXXXXX" (mkdtemp names) from the old one-folder swap
_LEGACY = re.compile(r"^\.[a-z0-9][a-z0-9_.-]{0,63}\.(tmp|old)-[a-z0-9_]{8}$")


class OutputTree:
    """``with OutputTree(out) as tree:`` write into :meth:`folder`, then :meth:`commit` (else nothing lands)."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.stage: Path | None = None
        self._lock: int | None = None
        self._created: list[Path] = []  # folders this build made (removed again if nothing is committed)
        self._variants: list[str] = []
        self._committed = False

    def __enter__(self) -> OutputTree:
        check_out(self.out)
        self._created = [p for p in (self.out, *self.out.parents) if not p.exists()]
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(self.out)
            recover(self.out)
            self.stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=self.out))
        except OSError as err:
            self._release()
            raise BuildError(f"--out {os.fspath(self.out)!r} cannot be written ({_reason(err)}); "
                             "choose a writable folder.") from err
        return self

    def folder(self, variant: str) -> Path:
        """The staging folder for ``variant`` (created empty)."""
        assert self.stage is not None, "use OutputTree as a context manager"
        folder = self.stage / "new" / variant
        folder.mkdir(parents=True)
        self._variants.append(variant)
        return folder

    def commit(self) -> None:
        """Swap every staged variant in; on any error the old folders are put back before it propagates."""
        assert self.stage is not None, "use OutputTree as a context manager"
        for variant in self._variants:
            _fsync_tree(self.stage / "new" / variant)
        had_old = {v: (self.out / v).exists() for v in self._variants}
        write_text_atomic(self.stage / JOURNAL, json.dumps({"variants": had_old}, sort_keys=True) + "\n")
        (self.stage / "old").mkdir()
        for variant in self._variants:
            if had_old[variant]:
                os.replace(self.out / variant, self.stage / "old" / variant)
            os.replace(self.stage / "new" / variant, self.out / variant)
        _fsync_dir(self.out)
        os.unlink(self.stage / JOURNAL)  # the commit point: from here on the new tree stands
        self._committed = True

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        """Put back whatever the build had not committed; a write error becomes one sentence (exit 1)."""
        try:
            if self.stage is not None:
                _undo(self.out, self.stage)  # a no-op after commit: the journal is gone
                shutil.rmtree(self.stage, ignore_errors=True)
            if not self._committed:
                for folder in self._created:  # deepest first; rmdir only removes empty folders
                    with contextlib.suppress(OSError):
                        folder.rmdir()
        finally:
            self._release()
        if isinstance(err, OSError) and self._is_write_error(err):
            raise RunFailed(f"could not write the build into --out {os.fspath(self.out)!r} ({_reason(err)}); "
                            "the old contents are unchanged; free space or fix the folder, then run again.") from err

    def _is_write_error(self, err: OSError) -> bool:
        """A full disk, or any error on a path inside ``--out`` (errors reading the inputs are not ours to word)."""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        return bool(err.filename) and Path(os.fspath(err.filename)).resolve().is_relative_to(self.out.resolve())

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or inside one, before anything is read."""
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file" if probe == out else f"is inside {os.fspath(probe)!r}, which is a file"
        raise BuildError(f"--out {os.fspath(out)!r} {where}; pass a folder (one subfolder per variant).")


def recover(out: str | os.PathLike[str]) -> list[Path]:
    """Undo any half-done swap left in ``out`` by a killed build and delete stale staging folders.

    Call only while holding the folder's lock (as :class:`OutputTree` does). Returns what it removed.
    """
    root = Path(out)
    removed = []
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        if not entry.is_dir() or entry.is_symlink():
            continue
        if entry.name.startswith(STAGE_PREFIX):
            _undo(root, entry)
        elif _LEGACY.match(entry.name):
            _undo_legacy(root, entry)
        else:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _undo(out: Path, stage: Path) -> None:
    """Roll back the renames the journal in ``stage`` announced (any prefix of them may have happened)."""
    journal = stage / JOURNAL
    if not journal.exists():
        return
    had_old: dict[str, bool] = json.loads(journal.read_text(encoding="utf-8"))["variants"]
    for variant, existed in had_old.items():
        final, old, new = out / variant, stage / "old" / variant, stage / "new" / variant
        if old.exists():  # the old folder was moved aside; what stands in its place (if anything) is new
            if final.exists():
                _discard(final, stage)
            os.replace(old, final)
        elif not existed and final.exists() and not new.exists():  # a new folder where none was before
            _discard(final, stage)
    _fsync_dir(out)
    journal.unlink()


def _undo_legacy(out: Path, entry: Path) -> None:
    """An ``.{variant}.old-*`` folder of the old one-folder swap holds ``{variant}`` if killed mid-swap."""
    variant = entry.name[1:].split(".old-")[0] if ".old-" in entry.name else None
    if variant and (entry / variant).is_dir() and not (out / variant).exists():
        os.replace(entry / variant, out / variant)


def _discard(folder: Path, stage: Path) -> None:
    trash = Path(tempfile.mkdtemp(prefix="discard-", dir=stage))
    os.replace(folder, trash / folder.name)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:  # some file systems cannot fsync a folder; the renames are still atomic
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _lock(out: Path) -> int:
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BuildError(f"another build is writing to --out {os.fspath(out)!r}; wait for it to finish or "
                         "choose another --out.") from None
    return fd



def _reason(err: OSError) -> str:
    return {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the file system is read-only"}.get(err.errno or -1, (err.strerror or str(err)).lower())
