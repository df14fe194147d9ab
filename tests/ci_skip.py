"""One rule for every skip in the suite: outside CI a missing part skips its tests; in CI
(``CI`` set, where ``.ci/run`` installs every part) it fails them, since a suite that
silently skips proves nothing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_outside_ci(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)
