"""Something other than a file where b03lint keeps its caches (a FIFO, a device such as
``/dev/zero``, a symlink to one) is refused at once: `check` neither blocks on it nor reads
without end, and reports exactly what it reports without it. Issue #13, point 6.

Each run is a real `b03lint check` process; the subprocess timeout only keeps a regression
from hanging the suite (the runs take well under a second each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from live_support import copy_example

GUARD = 120


def check(root: Path, xdg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "b03lint", "check", "--output-format", "json",
                           *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=GUARD, check=False)


def plant(path: Path, kind: str) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    root.mkdir()
    copy_example(root)
    return root


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pack_that_is_not_a_file(example: Path, tmp_path: Path, kind: str) -> None:
    xdg = tmp_path / "xdg"
    first = check(example, xdg, "--no-result-cache")
    assert first.returncode == 0, first.stderr
    (salt,) = [p for p in (example / ".b03lint_cache").iterdir()
               if p.is_dir() and p.name != "results"]
    packs = sorted(salt.glob("pack-*.bin"))
    assert packs
    plant(packs[0], kind)  # in place of a real pack
    plant(salt / "pack-00000000000000000000-1-planted.bin", kind)  # and a new one
    again = check(example, xdg, "--no-result-cache")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_result_entry_that_is_not_a_file(example: Path, tmp_path: Path, kind: str) -> None:
    xdg = tmp_path / "xdg"
    first = check(example, xdg)
    assert first.returncode == 0, first.stderr
    (entry,) = (example / ".b03lint_cache" / "results").glob("*.bin")
    plant(entry, kind)
    again = check(example, xdg)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_secret_that_is_not_a_file(example: Path, tmp_path: Path, kind: str) -> None:
    """The per-user key: the caches are then off, the run is the same."""
    xdg = tmp_path / "xdg"
    first = check(example, xdg)
    assert first.returncode == 0, first.stderr
    plant(xdg / "b03lint" / "secret", kind)
    again = check(example, xdg)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
