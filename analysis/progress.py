"""Progress lines on stderr for the long steps of an export (one line per step, with elapsed time)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator


class Progress:
    """``with progress.step("t-SNE of 2,000 latent means")``: prints the step and how long it took."""

    def __init__(self, prefix: str = "analysis", enabled: bool = True):
        self.prefix, self.enabled = prefix, enabled
        self.start = time.perf_counter()

    def line(self, message: str) -> None:
        if self.enabled:
            print(f"[{self.prefix} {time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        t0 = time.perf_counter()
        self.line(f"{message} ...")
        yield
        self.line(f"{message}: done in {time.perf_counter() - t0:.1f}s")
