"""Progress of a running sweep: a live line on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


class Progress:
    """Call `update()` on every event; it decides when to draw."""

    def __init__(self, total: int, quiet: bool = False, stream: TextIO | None = None,
                 plain_interval: float = 10.0):
        self.total, self.quiet = total, quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.2 if self.tty else plain_interval
        self.start = time.monotonic()
        self.last = 0.0
        self.done = self.failed = self.running = 0

    @property
    def next_refresh(self) -> float:
        """Seconds until the line should be redrawn even without an event."""
        return max(0.0, self.last + self.interval - time.monotonic())

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        finished = self.done + self.failed
        queued = self.total - finished - self.running
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = _clock((self.total - finished) / rate) if rate > 0 else "?"
        return ("[%d/%d] done %d, failed %d, running %d, queued %d | %.1f tasks/s | elapsed %s, ETA %s"
                % (finished, self.total, self.done, self.failed, self.running, queued, rate, _clock(elapsed), eta))

    def update(self, done: int, failed: int, running: int, force: bool = False) -> None:
        self.done, self.failed, self.running = done, failed, running
        if self.quiet:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if not self.quiet and self.tty:
            self.stream.write("\r\x1b[K" + self.line() + "\n")
            self.stream.flush()
