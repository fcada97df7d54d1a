"""Atomic file writes: a reader (or a kill) sees the old file or the new one, never half.

Every file the project writes (reports, model files, cards, the quality gate, the
corpus) goes through here: the content is written to a temporary file in the target's
folder, flushed to disk, then moved over the target with ``os.replace``, which is
atomic on POSIX and Windows when both live on one file system.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    For libraries that write to a path themselves (``joblib.dump``, ``DataFrame.to_csv``).
    On any error (or interruption) the temporary file is removed and ``target`` is
    left as it was.
    """
    target = Path(target)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically."""
    write_bytes(target, text.encode(encoding))
