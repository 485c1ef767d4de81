"""Safe file access for the ads pipeline: contained reads of input files, atomic writes of outputs.

Input records name other files (photos) and a folder of saved pages may hold anything, so a
path from the input is untrusted:

- ``open_contained(root, path)`` opens only a *regular file* under ``root``: the path is resolved
  (``..``, absolute paths and symbolic links included) and must stay inside ``root``'s real
  path; the resolved path is then opened component by component with ``O_NOFOLLOW`` from a
  descriptor of ``root``, so a directory swapped for a symbolic link after the check is refused
  too. FIFOs, devices, sockets and directories are refused from ``lstat`` before any ``open``,
  and the file is opened with ``O_NONBLOCK`` and checked again with ``fstat`` (nothing hangs).
- ``read_limited(fd, max_bytes)`` refuses a file larger than the limit before reading it.

Outputs are written by ``atomic_writer(path)``: into a new temporary file in the same folder,
then renamed over ``path`` (``os.replace``). A reader never sees a half-written file, and when
``path`` is a symbolic link the link itself is replaced by the new file: its target is never
opened, let alone overwritten.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TextIO

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class FileRefused(Exception):
    """A file named by the input may not or cannot be read; ``reason`` says why (readable)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link that cannot be followed"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_contained(root: Path, path: Path | str) -> int:
    """A read-only descriptor of the regular file ``path`` when it lies inside ``root``;
    ``FileRefused`` otherwise. The caller closes the descriptor.

    ``path`` is a path like any other (absolute, or relative to the working folder), typically
    ``root / written`` for a path written in the input.
    """
    root_real = os.path.realpath(root)
    real = os.path.realpath(path)
    relative = os.path.relpath(real, root_real)
    parts = relative.split(os.sep)
    if os.path.isabs(relative) or relative == os.curdir or parts[0] == os.pardir:
        raise FileRefused("outside the permitted folder")
    try:
        dir_fd = os.open(root_real, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise FileRefused(f"folder unreadable ({exc.strerror})") from exc
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(
                    part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=dir_fd
                )
            except FileNotFoundError as exc:
                raise FileRefused("missing") from exc
            except OSError as exc:  # ELOOP/ENOTDIR: swapped for a link or not a folder
                raise FileRefused(f"path changed or not a folder ({exc.strerror})") from exc
            os.close(dir_fd)
            dir_fd = inner
        name = parts[-1]
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except FileNotFoundError as exc:
            raise FileRefused("missing") from exc
        except OSError as exc:
            raise FileRefused(f"unreadable ({exc.strerror})") from exc
        if not stat.S_ISREG(mode):
            raise FileRefused(_kind(mode))
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
        except OSError as exc:
            raise FileRefused(f"unreadable ({exc.strerror})") from exc
    finally:
        os.close(dir_fd)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # replaced between the check and the open
        os.close(fd)
        raise FileRefused(_kind(mode))
    return fd


def read_limited(fd: int, max_bytes: int) -> bytes:
    """The whole content of an open regular file, refused when it is over ``max_bytes``."""
    size = os.fstat(fd).st_size
    if size > max_bytes:
        raise FileRefused(f"too large: {size:,} bytes (limit {max_bytes:,})")
    chunks: list[bytes] = []
    total = 0
    while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise FileRefused(f"too large: over {max_bytes:,} bytes (limit {max_bytes:,})")
    return b"".join(chunks)


def read_contained(root: Path, path: Path | str, max_bytes: int) -> bytes:
    """``read_limited(open_contained(root, path), max_bytes)``, closing the file."""
    fd = open_contained(root, path)
    try:
        return read_limited(fd, max_bytes)
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(path: Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """A text file (UTF-8) that replaces ``path`` when the block ends without an error.

    On an error the temporary file is removed and ``path`` is left as it was.
    """
    with (
        _atomic(path) as handle,
        open(handle.fileno(), "w", encoding="utf-8", newline=newline, closefd=False) as text,
    ):
        yield text


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` through a temporary file and a rename."""
    with _atomic(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    folder = path.parent
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
