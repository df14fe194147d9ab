"""Texts that stand in for files while the engine reads a chain: the fixed files that
``b03lint check --diff`` shows without writing them (and the new migrations its fixes would
create), or an editor's unsaved buffers.

Empty (the ordinary run), it costs one test of a dict per file read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from b03lint import runcache

#: absolute path -> the bytes that stand for the file
_TEXTS: dict[str, bytes] = {}


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or the text standing in for it."""
    if _TEXTS:
        found = _TEXTS.get(os.path.abspath(path))
        if found is not None:
            return found
    data = path.read_bytes()
    runcache.note_read(path, data)
    return data


def new_files(folder: Path, recursive: bool = True) -> list[Path]:
    """Files standing in under ``folder`` that do not exist on disk."""
    if not _TEXTS:
        return []
    base = os.path.abspath(folder)
    out = []
    for name in sorted(_TEXTS):
        parent = os.path.dirname(name)
        inside = parent == base or (recursive and parent.startswith(base + os.sep))
        if inside and not os.path.exists(name):
            out.append(Path(name))
    return out


@contextmanager
def texts(files: Mapping[Path, str | bytes]) -> Iterator[None]:
    """While the block runs, ``files`` read as the texts given (UTF-8)."""
    saved = dict(_TEXTS)
    _TEXTS.update({os.path.abspath(p): t.encode("utf-8") if isinstance(t, str) else t
                   for p, t in files.items()})
    try:
        yield
    finally:
        _TEXTS.clear()
        _TEXTS.update(saved)
