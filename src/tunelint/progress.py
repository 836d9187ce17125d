"""A one-line progress bar on stderr for long runs.

``Progress(stream)``: ``update(path, done_bytes, total_bytes)`` redraws at most ~10 times a
second; ``phase(label)`` names the step shown in front of the bar ("checking", "dataset rules",
"writing fixes", "profiling") and redraws at once; ``close()`` erases the line. Nothing is ever written when ``stream`` is not a
terminal (CI logs, pipes, files), so machine outputs and logs stay clean.
"""
from __future__ import annotations

import os
import shutil
import time

MIN_INTERVAL = 0.1  # seconds between redraws


class Progress:
    def __init__(self, stream, *, force: bool = False, clock=time.monotonic) -> None:
        self.stream = stream
        try:
            tty = bool(stream.isatty())
        except (AttributeError, ValueError, OSError):
            tty = False
        self.enabled = force or tty
        self._clock = clock
        self._last = float("-inf")
        self._shown = False
        self._start = clock()
        self.label = ""
        self._last_args: tuple | None = None

    def phase(self, label: str) -> None:
        """Name the current step; the bar is redrawn at once with it (a long step after the
        bar reached 100% is never silent)."""
        self.label = label
        if self._last_args is not None:
            self.update(*self._last_args, force=True)

    def _width(self) -> int:
        return max(40, min(shutil.get_terminal_size((80, 24)).columns, 160)) - 1

    def line(self, path: str, done: int, total: int) -> str:
        """The text of the bar (without control characters), fitted to the terminal width."""
        width = self._width()
        elapsed = max(self._clock() - self._start, 1e-9)
        speed = f" {done / elapsed / 1e6:,.1f} MB/s" if elapsed >= 0.5 else ""
        if path.endswith(".gz"):  # done counts decompressed bytes, total is the size on disk
            total = 0
        if total and total > 0:
            frac = min(max(done / total, 0.0), 1.0)
            bar_w = 20
            fill = int(frac * bar_w)
            head = f"[{'#' * fill}{'.' * (bar_w - fill)}] {frac * 100:3.0f}% "
            tail = f" {done / 1e6:,.1f}/{total / 1e6:,.1f} MB{speed}"
        else:
            head = "[working] "
            tail = f" {done / 1e6:,.1f} MB{speed}"
        if self.label:
            head = f"{self.label}: " + head
        room = width - len(head) - len(tail)
        name = os.path.basename(path) if len(path) > room else path
        if len(name) > room:
            name = "…" + name[-(room - 1):] if room > 1 else ""
        return head + name + tail

    def update(self, path: str, done: int, total: int, force: bool = False) -> None:
        if not self.enabled:
            return
        self._last_args = (path, done, total)
        now = self._clock()
        if now - self._last < MIN_INTERVAL and not force:
            return
        self._last = now
        try:
            self.stream.write("\r\x1b[2K" + self.line(path, done, total))
            self.stream.flush()
            self._shown = True
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        if self._shown:
            try:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._shown = False
