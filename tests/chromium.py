"""Headless Chromium (Debian's `chromium` package) for checking the HTML report as a browser shows it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 60  # seconds per run; a cold start takes 1-3 s
# A console message in Chromium's log: `[...:INFO:CONSOLE:1] "message", source: file:///... (1)` (older builds
# write `CONSOLE(1)`). Content-Security-Policy violations are reported this way.
CONSOLE = re.compile(r':CONSOLE[(:]?\d*\)?\] "(.*)", source: ')
MISSING = "chromium is not installed: `make test` installs it (Debian package `chromium`)"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        raise AssertionError(MISSING)
    # A throwaway profile: no state from earlier runs, no first-run work, nothing left behind.
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [
            binary,
            "--headless",
            "--no-sandbox",  # tests may run as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=True)


def dump_dom(page: Path, fragment: str = "") -> str:
    """The page's DOM after its scripts ran, opened at `#fragment`."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    return _run("--dump-dom", url).stdout


@dataclass(frozen=True)
class Loaded:
    dom: str  # after the page's scripts ran
    console: list[str]  # what the page logged, every Content-Security-Policy violation included


def load(page: Path, fragment: str = "") -> Loaded:
    """The page's DOM, as dump_dom gives it, and the messages its console received meanwhile."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = _run("--enable-logging=stderr", "--v=0", "--dump-dom", url)
    return Loaded(done.stdout, [m.group(1) for m in CONSOLE.finditer(done.stderr)])


def screenshot(page: Path, png: Path, *, width: int = 1280, height: int = 1600) -> Path:
    _run(
        f"--screenshot={png.resolve()}", f"--window-size={width},{height}", "--hide-scrollbars", page.resolve().as_uri()
    )
    return png
