"""Writing the compendium's outputs (HTML report, JSON findings) atomically.

A reader never sees a half-written file and concurrent writers never leave a
mixture: the text goes to a temporary file in the target's folder, is flushed
to disk, and then replaces the target in one step (:func:`os.replace`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; create missing parent folders; return the path.

    Raises
    ------
    OSError
        When the folder cannot be created or written, or ``path`` is a folder;
        the message names the path.  The target is then left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "out" / "a.txt", "hello")
    >>> p.read_text()
    'hello'
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(21, f"{str(p)!r} is a folder; give a file name", str(p))
    folder = p.parent
    for up in (folder, *folder.parents):
        if up.exists() and not up.is_dir():
            raise NotADirectoryError(20, f"{str(up)!r} is a file, not a folder", str(p))
        if up.exists():
            break
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return p
