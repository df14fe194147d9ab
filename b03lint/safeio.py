"""Reading b03lint's own files (cache packs, result entries, the cache secret) so that
something else put in their place (a FIFO, a device such as ``/dev/zero``, a symlink to
one) is refused at once instead of blocking or growing without bound. Imported by the
run-time fast path, so it imports nothing but ``os``."""

from __future__ import annotations

import os
import stat


def read_regular(path: str | os.PathLike[str], limit: int | None = None) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not through a symlink) of at most
    ``limit`` bytes; None otherwise or when it cannot be read. Never blocks on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (limit is not None and info.st_size > limit):
            return None
        chunks = []
        left = info.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
