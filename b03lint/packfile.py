"""The parse cache's pack files (:mod:`b03lint.cache`): written as the entries come, read
in one go, trusted only when their MAC is this user's.

A pack is ``MAGIC + HMAC-SHA256(secret, payload) + payload``; ``payload`` is a sequence of
records, each ``key length, value length`` (two little-endian 32-bit integers), the key
(UTF-8) and the value (a pickle, never unpickled here). A pack is written to a temporary
file record by record, the MAC last into the room left for it, then renamed into place:
nothing but a small buffer is held in memory while it is written (the pickled copy of
every migration of a 20,000-revision chain, about 34 MB, used to be held twice over:
once as the entries, once as the pickled dictionary of them).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
import time
from pathlib import Path

MAGIC = b"B03LINT-CACHE-2\n"
MAC_SIZE = 32
PACK_PREFIX = "pack-"
PACK_SUFFIX = ".bin"
_RECORD = struct.Struct("<II")
#: bytes gathered before they are written out
_BUFFER = 1 << 20


def parse(data: bytes, secret: bytes) -> dict[str, memoryview] | None:
    """The entries of a pack's bytes, or None when it is not a pack signed with ``secret``
    or is malformed in any way (nothing in it is believed then). The values are views of
    ``data``, not copies: ``data`` is one allocation that goes back to the system once the
    last of them is dropped (20,000 copies of 1.7 KB each stayed in the heap)."""
    head = len(MAGIC) + MAC_SIZE
    if len(data) <= head or not data.startswith(MAGIC):
        return None
    view = memoryview(data)
    payload = view[head:]
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, view[len(MAGIC):head]):
        return None  # never unpickle what this user's key did not sign
    entries: dict[str, memoryview] = {}
    pos, end, size = 0, len(payload), _RECORD.size
    unpack = _RECORD.unpack_from
    try:
        while pos < end:
            if end - pos < size:
                return None
            key_len, value_len = unpack(payload, pos)
            pos += size
            stop = pos + key_len + value_len
            if stop > end:
                return None
            key = str(payload[pos:pos + key_len], "utf-8")
            entries[key] = payload[pos + key_len:stop]
            pos = stop
    except (UnicodeDecodeError, struct.error):
        return None
    return entries


class PackWriter:
    """One pack being written in ``folder``: :meth:`add` each entry, then :meth:`finish`
    (the pack appears whole, atomically) or :meth:`abort` (nothing appears). Every method
    raises :class:`OSError` when the file system refuses; the caller then goes uncached.

    Only this process writes: the bytes are written with ``os.write`` from a buffer of
    this object, so a forked child that inherits it never writes anything."""

    def __init__(self, folder: Path, secret: bytes):
        unique = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}"
        self.tmp = folder / f".tmp-{unique}"
        self.pack = folder / f"{PACK_PREFIX}{unique}{PACK_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        self._fd: int | None = os.open(self.tmp, flags, 0o666)
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)
        self._buffer = bytearray(MAGIC + bytes(MAC_SIZE))
        self.count = 0

    def add(self, key: str, value: bytes | memoryview) -> None:
        name = key.encode()
        head = _RECORD.pack(len(name), len(value))
        for part in (head, name, value):
            self._mac.update(part)
        self._buffer += head
        self._buffer += name
        if len(value) >= _BUFFER:  # a large value (the canonical schema) is not copied
            self._drain()
            self._write(value)
        else:
            self._buffer += value
        self.count += 1
        if len(self._buffer) >= _BUFFER:
            self._drain()

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fd is not None
        with memoryview(data) as view:
            done = 0
            while done < len(view):
                done += os.write(self._fd, view[done:])

    def _drain(self) -> None:
        self._write(self._buffer)
        self._buffer.clear()

    def finish(self) -> Path:
        """Write the MAC, close, and rename the pack into place; returns its path."""
        try:
            self._drain()
            assert self._fd is not None
            os.pwrite(self._fd, self._mac.digest(), len(MAGIC))
            fd, self._fd = self._fd, None
            os.close(fd)
            os.replace(self.tmp, self.pack)
        except OSError:
            self.abort()
            raise
        return self.pack

    def abort(self) -> None:
        """Close and remove the temporary file (best effort)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        self._buffer.clear()
