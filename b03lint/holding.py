"""The resident process's side of :mod:`b03lint.held`: which cache folders it holds, from
which packs, and how many bytes; filled between requests from what its runners report."""

from __future__ import annotations

import os

from b03lint import held
from b03lint.cache import loads, user_secret
from b03lint.packfile import PACK_PREFIX, PACK_SUFFIX, parse
from b03lint.safeio import read_regular


class Holder:
    """The server's side: which folders are held, from which packs, and how many bytes."""

    def __init__(self) -> None:
        #: folder -> {pack file name -> the digests of its entries}
        self.packs: dict[str, dict[str, list[bytes]]] = {}
        self.size: dict[bytes, int] = {}
        #: the bytes of pickles held (the sum of ``size``)
        self.total = 0

    def hold(self, folders: list[str]) -> None:
        """Read the packs of ``folders`` (most recent last) that are not held yet, and drop
        what only packs gone from disk (compacted, pruned) held."""
        secret = user_secret()
        if secret is None:
            return
        for folder in folders:
            self.packs[folder] = self.packs.pop(folder, {})  # the most recent goes last
        while len(self.packs) > held.MAX_FOLDERS:
            del self.packs[next(iter(self.packs))]
        for folder, known in self.packs.items():
            try:
                names = {n for n in os.listdir(folder)
                         if n.startswith(PACK_PREFIX) and n.endswith(PACK_SUFFIX)}
            except OSError:
                names = set()
            for gone in set(known) - names:
                del known[gone]
            for name in sorted(names - set(known)):
                data = read_regular(os.path.join(folder, name))
                entries = parse(data, secret) if data is not None else None
                digests: list[bytes] = []
                for payload in (entries or {}).values():
                    d = held.digest(payload)
                    digests.append(d)
                    if d in self.size or self.total + len(payload) > held.LIMIT:
                        continue
                    try:
                        held.VALUES[d] = loads(payload)
                    except Exception:  # an entry of an incompatible b03lint: not held
                        continue
                    self.size[d] = len(payload)
                    self.total += len(payload)
                known[name] = digests
        kept = {d for known in self.packs.values() for ds in known.values() for d in ds}
        for d in set(self.size) - kept:
            self.total -= self.size.pop(d)
            held.VALUES.pop(d, None)
