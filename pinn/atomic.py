"""Atomic file writes: a file is either its old self or wholly new, never half-written.

Every file pinn writes (checkpoints, ``metrics.json``, figures, reference data) goes through
:func:`atomic_write`: the content is written to a temporary file in the destination's folder,
flushed to the disk (``fsync``), and renamed over the destination (``os.replace``, atomic on POSIX).

- The temporary file is created with mode ``0o666`` filtered by the process's umask, as ``open``
  creates files, so the result has the user's usual permissions (not ``mkstemp``'s 0600).
- Any exception in between (a full disk, Ctrl-C, a crash in the writer) removes the temporary
  file and leaves the old destination untouched. A process killed outright (SIGKILL, power loss)
  can leave the temporary file behind: its name, ``.<stem>.pinn-<random><suffix>.tmp`` next to the
  destination (``.checkpoint.pinn-1a2b3c4d.h5.tmp``), matches :data:`TEMP_PATTERN`, so
  :func:`remove_stale` finds it when the next run starts there.

HDF5 files are built in memory first (:func:`hdf5_image`) and then written as plain bytes: the
HDF5 library, writing to a full disk itself, can crash the process (a segmentation fault in h5py
3.14 / HDF5 1.14 on ENOSPC) instead of raising an error; a plain ``write`` raises ``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["atomic_write", "write_atomic", "hdf5_image", "temp_path", "remove_stale", "TEMP_PATTERN",
           "TEMP_MARKER"]

#: Marks pinn's temporary files (``.<stem>.pinn-<8 hex digits><suffix>.tmp``).
TEMP_MARKER = "pinn-"
#: A glob pattern matching every temporary file :func:`atomic_write` creates.
TEMP_PATTERN = f".*.{TEMP_MARKER}*.tmp"


def temp_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Path:
    """A fresh temporary file name next to ``path``: ``.<stem>.pinn-<random><ext><suffix>``."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{TEMP_MARKER}{secrets.token_hex(4)}{path.suffix}{suffix}")


def _create(path: Path, suffix: str, names: list[Path]) -> Path:
    """Create a new empty temporary file next to ``path``; its name is put in ``names`` before the
    file exists, so that an interrupt at any moment leaves the caller a name to remove."""
    for _ in range(100):
        tmp = temp_path(path, suffix)
        names[:] = [tmp]
        try:  # mode 0o666, filtered by the umask as any new file: the user's usual permissions
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Write ``path`` atomically: ``with atomic_write(path) as tmp: write(tmp)``.

    Yields the path of a new, empty temporary file in ``path``'s folder (created, with its
    parents, if needed); write the whole content there. When the block ends without an exception,
    the temporary file is flushed to the disk and renamed over ``path``. On any exception (also
    KeyboardInterrupt) it is removed and ``path`` stays as it was.

    Args:
        path: the destination.
        suffix: ends the temporary file's name (after the destination's own suffix).

    Raises:
        OSError: the folder cannot be created or written, the disk is full...; ``path`` is then
            unchanged and no temporary file is left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names: list[Path] = []  # the temporary file's name, known before the file exists
    try:  # a Ctrl-C even while the file is being created leaves nothing behind
        tmp = _create(path, suffix, names)
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        for name in names:
            with contextlib.suppress(OSError):
                os.remove(name)
        raise
    _fsync_folder(path.parent)


def write_atomic(path: str | os.PathLike[str], data: bytes | str, suffix: str = ".tmp") -> Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` with :func:`atomic_write`; returns the path."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    with atomic_write(path, suffix) as tmp:
        with open(tmp, "wb") as file:
            file.write(data)
    return path


def hdf5_image(fill: Callable[[Any], None]) -> bytes:
    """The bytes of an HDF5 file built in memory: ``fill(file)`` adds its content to an open,
    empty ``h5py.File``. The bytes equal those of the same file written to disk."""
    import h5py

    name = f"pinn-in-memory-{uuid.uuid4().hex}.h5"  # a name of its own: HDF5 refuses to reopen one
    with h5py.File(name, "w", driver="core", backing_store=False) as file:
        fill(file)
        file.flush()
        return bytes(file.id.get_file_image())


def remove_stale(folder: str | os.PathLike[str], patterns: tuple[str, ...] = ()) -> list[Path]:
    """Remove the temporary files a killed writer left in ``folder`` (those matching
    :data:`TEMP_PATTERN`, and ``patterns``); returns the paths removed. Only for a folder no other
    process writes to now (a run directory holds a lock while a run writes there)."""
    folder_text = glob.escape(str(folder))
    removed = []
    for pattern in (TEMP_PATTERN, *patterns):
        for stale in glob.glob(os.path.join(folder_text, pattern)):
            with contextlib.suppress(FileNotFoundError):
                os.remove(stale)
                removed.append(Path(stale))
    return removed
