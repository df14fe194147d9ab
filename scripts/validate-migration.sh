#!/usr/bin/env bash
# Validate Alembic migration files for destructive DDL (implementation guide, sections 5.1
# and 5.4). A thin wrapper over `b03lint check --select destructive`, so a team following
# the guide needs no translation:
#
#   scripts/validate-migration.sh alembic/versions/003_data_governance/<revision>.py
#   find alembic/versions -name "*.py" -print0 | xargs -0 -n1 ./scripts/validate-migration.sh
#
# It fails (exit 1) on destructive DDL in upgrade() (DROP TABLE/COLUMN/SCHEMA/TYPE, TRUNCATE,
# DELETE without WHERE, renames, type changes; dropped indexes and constraints warn) unless
# the line, or the line above it, carries `# CI:DESTRUCTIVE_OK - See ADR-<id>` citing an ADR
# that exists in the configured ADR folder. Exit 2: the file could not be checked.
#
# b03lint is taken from PATH, else from the repository's .venv, else `$PYTHON -m b03lint`
# (PYTHON defaults to python3). The configuration is [tool.b03lint] of the nearest
# pyproject.toml above the working directory.
set -uo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 MIGRATION.py [MIGRATION.py ...]" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if command -v b03lint >/dev/null 2>&1; then
  b03lint=(b03lint)
elif [ -x "$here/../.venv/bin/b03lint" ]; then
  b03lint=("$here/../.venv/bin/b03lint")
else
  b03lint=("${PYTHON:-python3}" -m b03lint)
fi

echo "Validating $*"
exec "${b03lint[@]}" check --select destructive "$@"
