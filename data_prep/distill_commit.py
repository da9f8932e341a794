"""The output files of distill.py and released.py land together or not at all, and never mix two datasets.

``with OutputFiles(folder, managed, identity, flag) as files:`` writes each output to ``files.path(name)``
(a hidden staging folder ``{folder}/.commit-XXXX/new/``) and calls ``files.commit()`` at the end. The
commit writes a journal naming every managed file (the new ones, and stale ones from an earlier run
that this one does not write, such as a ``val.parquet`` when the new run has no validation split),
moves the old files aside, the new ones in, and deletes the journal: the commit point. So:

* an error, Ctrl-C or a full disk before the commit point rolls back at once: the old files stay byte
  for byte as they were, and no new file is left behind;
* SIGKILL (or a power cut) leaves the staging folder; the next run into the folder rolls a half-done
  swap back and removes every stale staging folder before it writes anything;
* ``folder`` is locked (``flock`` on the folder itself, nothing left behind), so two runs cannot
  interleave.

``identity`` says what the files are made from (tool, input hash, teacher model...). A folder whose
manifest names another identity is refused before any work, naming what it holds: a second dataset
never silently replaces or joins the first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from data_prep.errors import DataPrepError
from data_prep.output_tree import StagedSwap, first_existing, fsync_path, not_a_folder, reason, recover_stages
from infra.atomic_files import current_umask
from infra.cli_errors import RunFailed
from infra.user_json import read_json_file

STAGE_PREFIX = ".commit-"
IDENTITY_KEY = "output_identity"  # where the identity lives in a manifest's config


class OutputError(DataPrepError):
    """An output folder that cannot be used (a file, read-only, in use, or holding another dataset)."""


class OutputFiles(StagedSwap):
    """A set of files committed into ``folder`` together (see the module doc)."""

    prefix = STAGE_PREFIX
    journal_key = "existed"

    def __init__(self, folder: str | os.PathLike[str], managed: Sequence[str], identity: Mapping[str, Any],
                 flag: str = "--out") -> None:
        super().__init__(folder)
        self.folder = self.root
        self.managed = tuple(managed)
        self.identity = dict(identity)
        self.flag = flag

    def __enter__(self) -> OutputFiles:
        check_folder(self.folder, self.flag)
        try:
            self._begin()
        except OSError as err:
            self._cleanup()
            raise OutputError(f"{self.flag} {os.fspath(self.folder)!r} cannot be written ({reason(err)}); choose a "
                              "writable folder.") from err
        except BaseException:
            self._cleanup()
            raise
        return self

    def _busy(self) -> Exception:
        return OutputError(f"another run is writing to {self.flag} {os.fspath(self.folder)!r}; wait for it to "
                           "finish or choose another folder.")

    def _check(self) -> None:
        check_identity(self.folder, self.managed, self.identity, self.flag)

    def _seal(self, new: Path, names: Sequence[str]) -> None:
        for path in new.iterdir():
            os.chmod(path, 0o666 & ~current_umask())
            fsync_path(path)
        fsync_path(new)

    def path(self, name: str) -> Path:
        """Where to write the new ``name`` (one of the managed names)."""
        assert self.stage is not None and name in self.managed, name
        return self.stage / "new" / name

    def commit(self) -> None:
        """Swap the new files in and remove stale managed ones; rolled back on any error before the end."""
        self._swap(self.managed)

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._cleanup()
        if isinstance(err, OSError) and err.errno is not None:
            raise RunFailed(f"could not write into {self.flag} {os.fspath(self.folder)!r} ({reason(err)}); its old "
                            "contents are unchanged; free space or fix the folder, then run again.") from err


def check_folder(folder: Path, flag: str = "--out") -> None:
    """Refuse a folder that is a file, or inside one, before anything is read or asked."""
    where = not_a_folder(folder)
    if where:
        raise OutputError(f"{flag} {os.fspath(folder)!r} {where}; pass a folder.")
    probe = first_existing(folder)
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {os.fspath(folder)!r} cannot be written ({unwritable(probe)}); choose a "
                          "writable folder.")


def unwritable(path: Path) -> str:
    """Why ``path`` cannot be written: a read-only file system, or permissions."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return f"{os.fspath(path)!r} is on a read-only file system" if read_only else \
        f"permission denied on {os.fspath(path)!r}"


def check_identity(folder: Path, managed: Sequence[str], identity: Mapping[str, Any], flag: str = "--out") -> None:
    """Refuse ``folder`` when its files were made from something else than ``identity``."""
    present = [name for name in managed if (folder / name).exists()]
    if not present:
        return
    held = held_identity(folder / "manifest.json")
    if held == dict(identity):
        return
    if held is None:
        what = f"holds {', '.join(present)} that no manifest of this tool describes"
    else:
        diff = sorted(k for k in set(held) | set(identity) if held.get(k) != identity.get(k))
        what = f"holds data made from {_inputs_of(folder / 'manifest.json')} (" + "; ".join(
            f"{k} {_short(held.get(k))}, not {_short(identity.get(k))}" for k in diff) + ")"
    raise OutputError(f"{flag} {os.fspath(folder)!r} {what}; so the two datasets do not mix, pass another {flag} "
                      f"or delete {', '.join(present)} there to replace them (anything else in it can stay).")


def held_identity(manifest: Path) -> dict[str, Any] | None:
    """The identity a manifest records, or None when there is no readable one."""
    data = read_json_file(manifest, default=None)
    config = data.get("config") if isinstance(data, dict) else None
    value = config.get(IDENTITY_KEY) if isinstance(config, dict) else None
    return dict(value) if isinstance(value, dict) else None


def _inputs_of(manifest: Path) -> str:
    """The input names a manifest lists, for a message."""
    data = read_json_file(manifest, default=None)
    inputs = data.get("inputs") if isinstance(data, dict) else None
    names = [str(i.get("name")) for i in inputs if isinstance(i, dict)] if isinstance(inputs, list) else []
    return ", ".join(repr(n) for n in names[:3]) or "another input"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "...'"


def recover(folder: Path) -> list[Path]:
    """Roll back a swap a killed run left half done and remove stale staging folders (hold the lock)."""
    return recover_stages(folder, STAGE_PREFIX, OutputFiles.journal_key)
