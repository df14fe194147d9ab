"""Which migrations a change touches, from git (``b03lint check --changed-since REF``).

The candidates are the migration files under the migrations folder (nested folders
included) that were added, modified, renamed, copied or changed type between the merge
base of ``REF`` and ``HEAD`` (``git merge-base REF HEAD``) and the working tree: committed,
staged and unstaged changes alike (``git diff --name-status -M <merge-base>``). Deleted
files are not candidates, and neither are untracked ones (``git add`` them first); a
renamed file counts under its new name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

#: what CI mode prints when no migration changed (guide section 5.2), exactly
SKIP_MESSAGE = "No candidate migrations detected; skipping."
#: git statuses of a path that exists after the change
KEPT_STATUSES = frozenset("AMRCT")


class GitError(Exception):
    """git could not answer (not a repository, unknown ref, git missing): exit code 2."""


def _git(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd,
                              capture_output=True, text=True, check=False,
                              encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise GitError(detail[-1] if detail else f"git {args[0]} failed")
    return proc.stdout


def repository_root(cwd: Path) -> Path:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    except GitError as exc:
        raise GitError(f"{cwd} is not in a git repository ({exc})") from None


def merge_base(ref: str, top: Path) -> str:
    try:
        _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], top)
    except GitError:
        raise GitError(f"unknown git ref {ref!r} (fetch it first, e.g. "
                       f"`git fetch origin {ref.split('/')[-1]}`; CI checkouts need "
                       "`fetch-depth: 0`)") from None
    try:
        return _git(["merge-base", ref, "HEAD"], top).strip()
    except GitError:
        raise GitError(f"no merge base between {ref!r} and HEAD (a shallow clone? "
                       "fetch with full history)") from None


def changed_files(ref: str, cwd: Path) -> list[Path]:
    """Every path added/modified/renamed/copied since the merge base of ``ref`` and HEAD,
    working tree included, as absolute paths."""
    top = repository_root(cwd)
    base = merge_base(ref, top)
    out = _git(["diff", "--name-status", "-M", "-z", "--no-ext-diff", "--no-textconv",
                base, "--"], top)
    tokens = out.split("\0")
    found: list[Path] = []
    i = 0
    while i < len(tokens) and tokens[i]:
        status = tokens[i][:1]
        if status in "RC":  # R100 old new
            path, i = tokens[i + 2], i + 3
        else:
            path, i = tokens[i + 1], i + 2
        if status in KEPT_STATUSES:
            found.append(top / path)
    return found


def is_revision_file(path: Path) -> bool:
    """As :func:`b03lint.engine.discover` finds revision files."""
    return (path.suffix == ".py" and not path.name.startswith((".#", "__init__"))
            and "__pycache__" not in path.parts)


def changed_migrations(ref: str, migrations: Path, cwd: Path,
                       recursive: bool = True) -> list[Path]:
    """The candidate migrations of one version folder (its sub-folders too when
    ``recursive``; see the module docstring), sorted; raises :class:`GitError`."""
    folder = migrations.resolve()
    out: list[Path] = []
    for path in changed_files(ref, cwd):
        try:
            real = path.resolve()
        except RuntimeError:  # a symlink loop (before Python 3.13): the link itself
            real = path.parent.resolve() / path.name
        # a symlink that loops or dangles is kept: the engine reports it as unreadable
        if real.is_relative_to(folder) and is_revision_file(real) and (
                real.is_file() or path.is_symlink()):
            rel = real.relative_to(folder)
            if recursive and any(part.startswith(".") for part in rel.parts[:-1]):
                continue
            if recursive or len(rel.parts) == 1:
                out.append(path)
    return sorted(set(out))
