"""How far a long run has got, on one line of stderr rewritten in place; nothing at all unless stderr is a terminal,
so logs and pipes stay clean."""

from __future__ import annotations

from typing import TextIO

_CLEAR = "\r\x1b[K"  # back to the line's start, erase it


class TerminalProgress:
    """The run's Progress port for a person at a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._read = ""
        self._checked = ""
        self._shown = False

    def identities_read(self, count: int) -> None:
        self._read = f"{count} {'identity' if count == 1 else 'identities'} read"
        self._show()

    def domains_checked(self, done: int, total: int, lookups: int) -> None:
        self._checked = f", {done}/{total} domains checked, {lookups} DNS lookups"
        self._show()

    def close(self) -> None:
        """Erases the line, so the report starts on a clean one."""
        if self._shown:
            self._stream.write(_CLEAR)
            self._stream.flush()

    def _show(self) -> None:
        self._stream.write(f"{_CLEAR}ses-guard: {self._read or 'reading identities'}{self._checked}")
        self._stream.flush()
        self._shown = True


def progress_for(stream: TextIO) -> TerminalProgress | None:
    return TerminalProgress(stream) if stream.isatty() else None
