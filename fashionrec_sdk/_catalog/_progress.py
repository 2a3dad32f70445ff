"""Progress lines on stderr for long ingests (no tqdm dependency).

``show_progress=None`` follows the ``fashionrec_sdk`` logger: progress is shown when
that logger is enabled for INFO, as sentence-transformers does for ``encode``.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

__all__ = ["Progress", "progress_enabled"]

logger = logging.getLogger("fashionrec_sdk")


def progress_enabled(show_progress: bool | None) -> bool:
    """Resolve ``show_progress``: an explicit bool wins, ``None`` follows the logger."""
    if show_progress is not None:
        return bool(show_progress)
    return logger.isEnabledFor(logging.INFO)


class Progress:
    """Rewrites one stderr line at most every ``interval`` seconds; silent if disabled."""

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        enabled: bool = True,
        interval: float = 0.5,
        stream: TextIO | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.interval = interval
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.issues = 0
        self._start = time.monotonic()
        self._last = -1.0
        self._printed = False

    def update(self, done: int, issues: int = 0, *, force: bool = False) -> None:
        """Record progress; print if enabled and the interval has passed."""
        self.done, self.issues = done, issues
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self.interval):
            return
        self._last = now
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed
        if self.total:
            pct = 100.0 * done / self.total
            head = f"{done:,}/{self.total:,} ({pct:.0f}%)"
        else:
            head = f"{done:,}"
        line = f"\rfashionrec: {self.label} {head}, {rate:,.0f}/s, {issues} issue(s)"
        self.stream.write(line)
        self.stream.flush()
        self._printed = True

    def close(self) -> None:
        """Print the final state and end the line."""
        if self.enabled:
            self.update(self.done, self.issues, force=True)
            self.stream.write("\n")
            self.stream.flush()
