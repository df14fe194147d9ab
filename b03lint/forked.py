"""One call run in a forked child process, its result (bytes) sent back down a pipe.

Forking is cheap on Linux: the child inherits every imported module (no re-import, no
``multiprocessing`` import, which alone costs 15-30 ms), and it is safe while this
process runs a single thread (:func:`fork_is_safe`). The loader parses shares of the
migrations this way, and the canonical schema is read in one while the parent reads the
migrations.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable


def fork_is_safe() -> bool:
    """Linux, ``os.fork`` available, and a single thread in this process."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


class ForkedCall:
    """``call()`` in a child process; :meth:`result` is what it returned, or None when the
    child failed in any way (the caller then does the work itself)."""

    def __init__(self, call: Callable[[], bytes]):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            status = 1
            try:
                os.close(read_fd)
                payload = call()
                with os.fdopen(write_fd, "wb") as out:
                    out.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        self.pid = pid
        self.fd: int | None = read_fd

    def close(self) -> int:
        """Stop listening and reap the child (once); its wait status, -1 if unknown."""
        if self.fd is None:
            return -1
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = None
        try:
            return os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            return -1

    def cancel(self) -> None:
        """The result is not wanted: stop the child and reap it."""
        if self.fd is not None:
            import signal

            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self.close()

    def result(self) -> bytes | None:
        if self.fd is None:
            return None
        try:
            with os.fdopen(self.fd, "rb", closefd=False) as pipe:
                data = pipe.read()
        except OSError:
            data = b""
        if self.close() != 0:
            return None
        return data
