"""Files only this user can have written: what the caches trust (a secret, signed tables).
Standard-library built-ins only (the result cache imports it before anything else)."""

from __future__ import annotations

import os


def private_folder(path: str) -> bool:
    """Whether ``path`` is a folder only this user can change: owned by the effective user
    and writable by neither group nor others. A cache folder anyone else can write to (a
    shared ``XDG_CACHE_HOME``, a folder made by another account) could have its secret or
    its signed files replaced, so such a folder is never used."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    if (st.st_mode & 0o170000) != 0o040000 or st.st_mode & 0o022:
        return False
    return not hasattr(os, "geteuid") or st.st_uid == os.geteuid()


def read_private(path: str, secret: bool = False) -> bytes | None:
    """The bytes of ``path`` when it is a regular file (not a symbolic link) owned by this
    user and writable by nobody else (``secret``: nor readable by anybody else); None
    otherwise or when it cannot be read. The checks are made on the opened file, so the
    file cannot be swapped between the check and the read."""
    # O_NONBLOCK: a FIFO put in the file's place must not block the open (it is then
    # refused as not a regular file); it changes nothing for a regular file
    flags = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
             | getattr(os, "O_NONBLOCK", 0))
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if ((st.st_mode & 0o170000) != 0o100000 or st.st_mode & (0o077 if secret else 0o022)
                or (hasattr(os, "geteuid") and st.st_uid != os.geteuid())):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
