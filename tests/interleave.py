"""A real S3 store with something that happens between a reader's load and its first save: how tests make two
writers overlap at the one moment that matters, deterministically."""

from __future__ import annotations

from collections.abc import Callable

from core.adapters.state import S3State
from core.kernel.errors import ConflictError


class BeforeFirstSave:
    """Wraps `store`; `meanwhile` runs once, just before the first save, and lost races are counted."""

    def __init__(self, store: S3State, meanwhile: Callable[[], None]) -> None:
        self._store = store
        self._meanwhile: Callable[[], None] | None = meanwhile
        self.conflicts = 0

    @property
    def target(self) -> str:
        return self._store.target

    def load(self) -> tuple[str | None, str]:
        return self._store.load()

    def save(self, text: str, version: str) -> str:
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None:
            meanwhile()
        try:
            return self._store.save(text, version)
        except ConflictError:
            self.conflicts += 1
            raise
