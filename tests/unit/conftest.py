"""Every test under tests/unit is marked `unit` and runs without sockets (pytest-socket's `disable_socket`).

Markers are applied here, per folder, rather than by a `pytestmark` line in each file. `pytest_plugins` stays in
the root conftest: pytest reads it only there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees every collected item, not just this folder's: mark only those that live under it.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.unit)
            item.add_marker(pytest.mark.disable_socket)
