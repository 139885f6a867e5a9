"""Files of the compile cache: progress notices, per-key locks, integrity records, atomic writes.

A cached library ``bm_KEY.so`` has a record ``bm_KEY.sha256`` (key, size, sha256) that is checked
before the library is loaded; files are written through a temporary file and ``os.replace``; a
build of one key holds an exclusive ``fcntl`` lock, a load a shared one.  Used by
:mod:`bonemet_ode.compile.backend`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["logger", "NOTICE_AFTER_S", "notice", "SlowNotice", "file_lock", "sha256_of", "record_path",
           "check_cached", "atomic_write", "file_mode", "not_a_file", "remove_stale_builds", "STALE_AFTER_S"]


# ------------------------------------------------------------------------------------------ progress notices
#: Logger of compile notices (a build that takes more than :data:`NOTICE_AFTER_S`, a cached library that
#: failed its check and is rebuilt).  Silence it with ``logging.getLogger("bonemet_ode.compile").setLevel(
#: logging.WARNING)`` or the environment variable ``BONEMET_ODE_QUIET=1``.
logger = logging.getLogger("bonemet_ode.compile")
logger.setLevel(logging.INFO)
#: Seconds a build may run before a one-line notice says that a model is being compiled.
NOTICE_AFTER_S = 1.0


def notice(message: str) -> None:
    """Emit a one-line progress notice: to the ``bonemet_ode.compile`` logger's handlers where logging is
    configured, else to stderr; nothing when ``BONEMET_ODE_QUIET`` is set or the logger is above INFO."""
    if os.environ.get("BONEMET_ODE_QUIET", "").strip() not in ("", "0") or not logger.isEnabledFor(logging.INFO):
        return
    if logger.hasHandlers():
        logger.info(message)
    else:
        print(f"[bonemet_ode] {message}", file=sys.stderr, flush=True)


class SlowNotice:
    """Print ``message`` once if the ``with`` block is still running after ``after`` seconds."""

    def __init__(self, message: str, after: float | None = None) -> None:
        self._timer = threading.Timer(NOTICE_AFTER_S if after is None else after, notice, args=(message,))
        self._timer.daemon = True

    def __enter__(self) -> SlowNotice:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


# ------------------------------------------------------------------------------------------ the disk cache
@contextlib.contextmanager
def file_lock(path: Path, exclusive: bool):
    """An ``fcntl`` lock on ``path`` (created if needed) held for the ``with`` block; yields whether it is held.

    Shared while a library is checked and loaded, exclusive while it is built, so no process loads
    a library that another is replacing.  Where ``fcntl`` is missing (Windows) it does nothing: the
    atomic replace and the content hash still keep a half-written library from being loaded.  A lock
    file this process may not write (a cache shared read-only by another user) is locked through a
    read-only descriptor; where it cannot be opened at all (a read-only cache without the file), the
    block runs without a lock: loading needs none there, and a build fails with a clear error first.
    """
    if fcntl is None:
        yield False
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies, as for every cache file
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)  # flock needs no write access
        except OSError:
            yield False
            return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            held = True
        except OSError:  # a file system without locks (some NFS mounts): the atomic renames still hold
            held = False
        yield held
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_path(path: Path) -> Path:
    return path.with_suffix(".sha256")


def check_cached(path: Path, key: str) -> str | None:
    """Why the cached library at ``path`` must not be loaded, or None when it may be.

    The record beside it (``.sha256``) holds the key, the size and the sha256 of the library as
    built; a library that is missing it, or whose bytes differ (truncated, garbled, replaced by
    another model's library), is never passed to ``dlopen`` -- loading a damaged ELF file can kill
    the process (SIGBUS, SIGSEGV) before any error could be raised.
    """
    if not path.exists():
        return "missing"
    record = record_path(path)
    for f in (path, record):
        if (what := not_a_file(f)) is not None:
            return f"{f.name} is {what}, not a file"
    try:
        rec_key, size, digest = record.read_text().split()
        size_n = int(size)
    except PermissionError:
        return f"its content record {record.name} may not be read by this user (permission denied)"
    except (OSError, ValueError):
        return f"its content record {record.name} is missing or unreadable"
    if rec_key != key:
        return f"its content record belongs to another key ({rec_key[:12]})"
    actual = path.stat().st_size
    if actual != size_n:
        return f"its size is {actual} bytes, {size_n} were built"
    try:
        if sha256_of(path) != digest:
            return "its sha256 differs from the one recorded when it was built"
    except PermissionError:
        return f"{path.name} may not be read by this user (permission denied)"
    return None


def not_a_file(path: Path) -> str | None:
    """What stands at ``path`` where a cache file belongs, when it is neither a regular file nor absent
    (``"a directory"``, ...), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return "a directory" if stat.S_ISDIR(mode) else "a special file"


_umask_lock = threading.Lock()


def file_mode(executable: bool = False) -> int:
    """The mode ``open()`` would give a new file: 0o666 (0o777 for an executable) less this process's umask."""
    umask = None
    try:
        with open("/proc/self/status") as fh:  # Linux: reads the umask without changing it
            for line in fh:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError):
        pass
    if umask is None:
        with _umask_lock:  # elsewhere: set and restore (other threads creating files meanwhile are rare)
            umask = os.umask(0o022)
            os.umask(umask)
    return (0o777 if executable else 0o666) & ~umask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``:
    a reader sees the old file or the whole new one, never a part.  The file gets the mode ``open()``
    would give it (:func:`file_mode`; ``mkstemp``'s private 0600 would hide it from the other users
    of a shared cache)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), file_mode())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: Age in seconds after which a private build directory (``.build-KEY-*``) or temporary file
#: (``.NAME.*.tmp``) left in the cache by a killed process is removed (see :func:`remove_stale_builds`).
STALE_AFTER_S = 3600.0


def remove_stale_builds(directory: Path, key: str, locked: bool) -> list[str]:
    """Remove what killed builds left in ``directory``; returns the names removed.

    A build of ``key`` calls this when it starts, holding the key's exclusive lock: any other build
    directory or temporary file of that key then belongs to a build that died (a live one would hold
    the lock) and goes whatever its age (``locked`` False, where the file system has no locks: only
    those older than :data:`STALE_AFTER_S`).  Leftovers of other keys go once older than that.
    """
    mine = (f".build-{key[:12]}-", f".bm_{key}.")
    removed: list[str] = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for e in entries:
        name = e.name
        if not (name.startswith(".build-") or (name.startswith(".bm_") and name.endswith(".tmp"))):
            continue
        try:
            age = now - e.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if not ((locked and name.startswith(mine)) or age > STALE_AFTER_S):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(name)
        except OSError:
            pass
    return removed
