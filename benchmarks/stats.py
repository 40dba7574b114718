"""Repeats, medians and machine facts for benchmark results."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Measure:
    """Several runs of one quantity."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cell(self, fmt: str = "{:.1f}") -> str:
        if len(self.values) == 1:
            return fmt.format(self.values[0])
        return f"{fmt.format(self.median)} ({fmt.format(min(self.values))}–{fmt.format(max(self.values))})"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def machine() -> str:
    import torch

    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {gpu}; Python "
            f"{platform.python_version()}, torch {torch.__version__}")


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MiB."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
