"""Every test under tests/integration is marked `integration`: it runs against loopback servers (moto, DNS).

Markers are applied here, per folder, rather than by a `pytestmark` line in each file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees every collected item, not just this folder's: mark only those that live under it.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
