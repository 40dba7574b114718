"""Where a machine's CPU went while a command ran: its own process tree, Ray's worker processes, Ray's daemons, the
MLflow store's server, and everything else, sampled from /proc (psutil) once a second.

The scale benchmark runs on 2 real cores with up to 64 Ray worker processes: a worker that starts imports Ray Tune
(several CPU seconds), and where the cores are saturated that, not the driver, sets the wall time. This is the
profile that says so. A process's CPU is its last sample less what it had at the start (one that exits between samples
loses at most a second); the workers counted are the worker processes that started while it ran.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

CATEGORIES = ("driver", "ray workers", "ray daemons", "store", "other")
PERIOD_S = 1.0
RAY_AGENTS = ("DashboardAgent", "RuntimeEnvAgent")  # ray::<agent> after setproctitle
RAY_PROGRAMS = ("raylet", "gcs_server")
RAY_SCRIPTS = ("agent.py", "dashboard.py", "log_monitor.py", "monitor.py")  # Ray's daemons in Python
STORE = ("mlflow", "uvicorn", "postgres")


@dataclass
class CpuShare:
    seconds: dict[str, float] = field(default_factory=dict)  # category -> CPU s (user + system)
    machine_s: float = 0.0  # the machine's busy CPU seconds over the same time (all cores)
    workers: int = 0  # Ray worker processes started while it ran


def category(cmdline: list[str], name: str, driver: set[int], pid: int) -> str:
    text = " ".join(cmdline) or name
    program = Path(cmdline[0]).name if cmdline else name
    if pid in driver:
        return "driver"
    if text.startswith("ray::"):  # a Ray process after setproctitle: a worker, or one of the node's agents
        return "ray daemons" if any(a in text for a in RAY_AGENTS) else "ray workers"
    if any(part.endswith("default_worker.py") for part in cmdline[:3]):
        return "ray workers"
    if program in RAY_PROGRAMS or any(part.endswith(RAY_SCRIPTS) for part in cmdline[:3]):
        return "ray daemons"
    if any(s in text for s in STORE):
        return "store"
    return "other"


class Sampler:
    """``with Sampler(pid) as s: ...``; then ``s.result``. ``pid``: the root of the measured command's tree (its
    descendants are the driver too), set later with :meth:`watch` when the command starts inside the block."""

    def __init__(self, pid: int | None = None):
        self.root = pid
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (category, CPU s at the last sample)
        self.before: dict[int, float] = {}  # pid -> CPU s at the start, of the processes already running
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-share", daemon=True)
        self.result = CpuShare()

    def watch(self, pid: int) -> None:
        self.root = pid

    def __enter__(self) -> "Sampler":
        self._busy0 = _busy()
        for p in psutil.process_iter(["cpu_times"]):
            if p.info["cpu_times"] is not None:
                self.before[p.pid] = p.info["cpu_times"].user + p.info["cpu_times"].system
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        seconds = dict.fromkeys(CATEGORIES, 0.0)
        for pid, (cat, cpu) in self.cpu.items():
            seconds[cat] += cpu - self.before.get(pid, 0.0)
        self.result = CpuShare(seconds, _busy() - self._busy0, sum(
            1 for pid, (cat, _) in self.cpu.items() if cat == "ray workers" and pid not in self.before))

    def _loop(self) -> None:
        while not self._stop.wait(PERIOD_S):
            self._sample()

    def _sample(self) -> None:
        driver: set[int] = set()
        if self.root is not None:
            try:
                root = psutil.Process(self.root)
                driver = {self.root} | {c.pid for c in root.children(recursive=True)}
            except psutil.Error:
                pass
        me = psutil.Process().pid
        for p in psutil.process_iter(["cmdline", "name", "cpu_times"]):
            if p.pid == me or p.info["cpu_times"] is None:
                continue
            t = p.info["cpu_times"]
            known = self.cpu.get(p.pid)
            cat = known[0] if known and known[0] != "other" else \
                category(p.info["cmdline"] or [], p.info["name"] or "", driver, p.pid)
            self.cpu[p.pid] = (cat, t.user + t.system)


def _busy() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)
