"""The one staged-output commit: files or folders land in an output folder all together, or none does.

``with StagedOutput(folder, ...) as out:`` writes each entry into a hidden staging folder inside
``folder`` (``{folder}/{prefix}XXXX/new/{name}``: :meth:`~StagedOutput.path` for a file,
:meth:`~StagedOutput.folder` for a folder) and calls :meth:`~StagedOutput.commit` at the end. The commit
writes a journal naming every entry it replaces, moves the old ones aside (``.../old/{name}``), the new
ones in, and deletes the journal: the commit point. Each rename is atomic, the sequence is not, so:

* an error, Ctrl-C or a full disk before the commit point rolls back at once: the old entries stay
  byte for byte as they were and no new one is left behind;
* SIGKILL (or a power cut) leaves the staging folder; the next run into ``folder`` (or
  :func:`recover`) rolls the half-done swap back and deletes every stale staging folder first;
* ``folder`` is locked for the whole run (``flock`` on the folder itself: nothing left behind, and a
  killed holder releases it), so two runs cannot interleave.

Names passed to ``commit`` that were not staged are removed (a stale ``val.parquet`` from an earlier
run with a validation split). ``check(folder)`` runs under the lock, before anything is staged, so a
caller can refuse a folder holding another dataset.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from infra.atomic_files import current_umask, write_text_atomic
from infra.cli_errors import RunFailed, UserError, os_reason

JOURNAL = "journal.json"
_Staged = TypeVar("_Staged", bound="StagedOutput")


class StagedOutput:
    """Entries staged in ``{folder}/{prefix}XXXX/new/`` and swapped into ``folder`` together behind a journal.

    ``flag`` and ``what`` word the messages ("another build is writing to --out ..."), ``error`` is the
    caller's :class:`UserError` for an unusable folder; ``prefix`` and ``journal_key`` fix the on-disk
    format that :func:`recover` reads back.
    """

    def __init__(self, folder: str | os.PathLike[str], *, flag: str = "--out", what: str = "run",
                 error: type[UserError] = UserError, prefix: str = ".commit-", journal_key: str = "existed",
                 check: Callable[[Path], None] | None = None) -> None:
        self.root = Path(folder)
        self.flag, self.what, self.error = flag, what, error
        self.prefix, self.journal_key, self._check = prefix, journal_key, check
        self.stage: Path | None = None
        self._names: list[str] = []
        self._lock: int | None = None
        self._created: list[Path] = []  # folders this run made (removed again if nothing is committed)
        self._committed = False

    def __enter__(self: _Staged) -> _Staged:
        """Refuse a folder that cannot be one, then create, lock, recover and check it, and make the stage."""
        check_folder(self.root, self.flag, self.error)
        try:
            self._created = [p for p in (self.root, *self.root.parents) if not p.exists()]
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = lock_folder(self.root)
            if self._lock is None:
                raise self.error(f"another {self.what} is writing to {self.flag} {os.fspath(self.root)!r}; wait for "
                                 f"it to finish or choose another {self.flag}.")
            recover(self.root, self.prefix, self.journal_key)
            if self._check is not None:
                self._check(self.root)
            self.stage = Path(tempfile.mkdtemp(prefix=self.prefix, dir=self.root))
            (self.stage / "new").mkdir()
        except OSError as err:
            self._cleanup()
            raise self.error(f"{self.flag} {os.fspath(self.root)!r} cannot be written ({os_reason(err)}); choose a "
                             "writable folder.") from err
        except BaseException:
            self._cleanup()
            raise
        return self

    def path(self, name: str) -> Path:
        """Where to write the new file ``name``."""
        assert self.stage is not None, "use StagedOutput as a context manager"
        self._names.append(name)
        return self.stage / "new" / name

    def folder(self, name: str) -> Path:
        """The new folder ``name`` (created empty) to write into."""
        folder = self.path(name)
        folder.mkdir(parents=True)
        return folder

    def commit(self, names: Sequence[str] | None = None) -> None:
        """Swap the staged entries in (and remove those of ``names`` not staged); rolled back on any error."""
        assert self.stage is not None, "use StagedOutput as a context manager"
        names = list(dict.fromkeys([*self._names, *(names or ())]))
        new = self.stage / "new"
        for name in names:
            if (new / name).is_file():
                os.chmod(new / name, 0o666 & ~current_umask())  # temporary files are made 0600
            if (new / name).exists():
                fsync_tree(new / name)
        fsync_path(new)
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

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        """Put back whatever was not committed; an error writing into the folder becomes one sentence (exit 1)."""
        self._cleanup()
        if isinstance(err, OSError) and self._is_write_error(err):
            raise RunFailed(f"could not write into {self.flag} {os.fspath(self.root)!r} ({os_reason(err)}); its old "
                            "contents are unchanged; free space or fix the folder, then run again.") from err

    def _is_write_error(self, err: OSError) -> bool:
        """A full disk, or any error on a path inside the folder (errors reading the inputs are not ours to word)."""
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        return bool(err.filename) and Path(os.fspath(err.filename)).resolve().is_relative_to(self.root.resolve())

    def _cleanup(self) -> None:
        try:
            if self.stage is not None:
                undo(self.root, self.stage, self.journal_key)  # a no-op after commit: the journal is gone
                shutil.rmtree(self.stage, ignore_errors=True)
            if not self._committed:
                for folder in self._created:  # deepest first; rmdir only removes empty folders
                    with contextlib.suppress(OSError):
                        folder.rmdir()
        finally:
            if self._lock is not None:
                os.close(self._lock)  # closing the descriptor drops the flock
                self._lock = None


def recover(root: Path, prefix: str, journal_key: str) -> list[Path]:
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


def _discard(path: Path, stage: Path) -> None:
    """Move ``path`` (a file or a folder) into ``stage``, which is deleted afterwards."""
    trash = Path(tempfile.mkdtemp(prefix="discard-", dir=stage))
    os.replace(path, trash / path.name)


def check_folder(folder: Path, flag: str = "--out", error: type[UserError] = UserError) -> None:
    """Refuse a folder that is a file, sits inside one, or cannot be written, before anything is read."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file" if probe == folder else f"is inside {os.fspath(probe)!r}, which is a file"
        raise error(f"{flag} {os.fspath(folder)!r} {where}; pass a folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise error(f"{flag} {os.fspath(folder)!r} cannot be written ({unwritable(probe)}); choose a writable folder.")


def unwritable(path: Path) -> str:
    """Why ``path`` cannot be written: a read-only file system, or permissions."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return f"{os.fspath(path)!r} is on a read-only file system" if read_only else \
        f"permission denied on {os.fspath(path)!r}"


def fsync_tree(path: Path) -> None:
    """fsync a file, or every file under a folder and then the folder itself."""
    for inner in path.rglob("*") if path.is_dir() else ():
        if inner.is_file():
            fsync_path(inner)
    fsync_path(path)


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
