"""The one resumable response cache under every paid or slow call: eval's judge generations, distillation's
teacher answers (and the judge reward's, next).

One JSON object per line, appended as each response arrives and flushed (or fsynced) before the next
is reported, so an interrupted, crashed or SIGKILLed run resumes without asking twice. The file is
read whole when opened; the caller's ``parse`` turns a line into a record (None: not one of its
records, counted in ``bad_lines`` and asked again). Entering the log (``with``) takes an exclusive
lock on the file itself, so a second run is refused before it sends anything; if another run wrote
between the read and the lock, the file is read again. A last line without its newline is kept and
completed when it parses, cut off when it is the start of a record a kill tore (``torn_tail``), and
refused otherwise (the file is not this cache). A run that wrote nothing leaves no file or folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from infra.cli_errors import UserError, os_reason

R = TypeVar("R")
L = TypeVar("L", bound="ResponseLog[Any]")


class ResponseLog(Generic[R]):
    """Records keyed by ``key(record)``, read from ``path`` and appended to it (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], parse: Callable[[bytes], R | None], key: Callable[[R], str], *,
                 error: type[UserError], what: str = "cache", looks_torn: Callable[[bytes], bool] = lambda tail: True,
                 fsync: bool = False) -> None:
        self.path, self.what = Path(path), what
        self._parse, self._key, self._error, self._looks_torn, self._fsync = parse, key, error, looks_torn, fsync
        self.records: dict[str, R] = {}
        self.bad_lines = 0
        self.torn_tail = False
        self._tail: tuple[int, bytes, bool] | None = None  # a last line without its newline: (offset, bytes, parsed)
        self._size = -1
        self._handle: IO[bytes] | None = None
        self._made: list[Path] = []  # the file and folders this run created (removed again if left empty)
        self._load()

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: str) -> R | None:
        return self.records.get(key)

    def __enter__(self: L) -> L:
        """Lock the file for this run (a second run is refused now), read what changed, repair the tail."""
        what = self.what
        self._made = [p for p in (self.path, *self.path.parents) if not p.exists()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "ab")
        except OSError as err:
            self._remove_made()
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise  # a full disk is a failed run (exit 1), not a bad path
            raise self._error(f"{what} {os.fspath(self.path)!r} cannot be opened for writing ({os_reason(err)}); "
                              "pass a writable --out or --cache.") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise self._error(f"{what} {os.fspath(self.path)!r} is in use by another run; wait for it to finish or "
                              "pass another --cache.") from None
        self._handle = handle
        try:
            if os.fstat(handle.fileno()).st_size != max(self._size, 0):  # another run wrote before our lock
                torn = self.torn_tail
                self.records.clear()
                self.bad_lines, self.torn_tail = 0, False
                self._load()
                self.torn_tail = self.torn_tail or torn
            self._repair_tail()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, record: R, line: str) -> None:
        """Write ``record`` as the JSON text ``line`` (no newline in it) and flush it before returning.

        Outside a ``with`` block the first write takes the lock (released by :meth:`close`)."""
        if self._handle is None:
            self.__enter__()
        assert self._handle is not None  # __enter__ opened it or raised
        self._handle.write((line + "\n").encode("utf-8"))
        self._handle.flush()
        if self._fsync:
            os.fsync(self._handle.fileno())
        self.records[self._key(record)] = record

    def close(self) -> None:
        if self._handle is None:
            return
        empty = self._handle.tell() == 0
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
        if empty:  # locked but never written: leave nothing this run made
            self._remove_made()

    def _load(self) -> None:
        if not self.path.exists():
            return
        if not self.path.is_file():
            raise self._error(f"{self.what} {os.fspath(self.path)!r} is not a file; pass --cache a file path.")
        data = self.path.read_bytes()
        self._size = len(data)
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        for raw in lines:
            record = self._parse(raw) if raw.strip() else None
            if record is not None:
                self.records[self._key(record)] = record
            elif raw.strip():
                self.bad_lines += 1
        self._tail = None
        if tail.strip():  # written by a killed run (or by hand): never counted as a bad line
            record = self._parse(tail)
            if record is not None:
                self.records[self._key(record)] = record
            self._tail = (len(data) - len(tail), tail, record is not None)
            self.torn_tail = record is None and self._looks_torn(tail)

    def _repair_tail(self) -> None:
        """A last line without its newline: a complete record (newline added) or one a kill tore (cut off)."""
        if self._tail is None or self._handle is None:
            return
        offset, tail, parsed = self._tail
        self._tail = None
        if parsed:
            self._handle.write(b"\n")
        elif self._looks_torn(tail):
            self._handle.truncate(offset)
        else:
            raise self._error(f"{os.fspath(self.path)!r} ends in a line no run of this tool wrote; it is not a "
                              f"{self.what}, so pass --cache another path.")
        self._handle.flush()

    def _remove_made(self) -> None:
        for path in self._made:  # the file first, then the folders, deepest first
            try:
                path.unlink() if path == self.path else path.rmdir()
            except OSError:
                return
