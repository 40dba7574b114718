"""What the driver does with SIGTERM and SIGINT: one graceful stop, and a second signal to exit at once.

Batch schedulers (SLURM, Kubernetes) send SIGTERM before they kill a job; a user presses Ctrl-C (SIGINT).
On the first signal the study stops as Tune stops on Ctrl-C: while Tune runs, its loop ends, the trials
are stopped and the experiment state is saved (``--resume`` continues the unfinished trials from their
last checkpoints); outside Tune, the work in progress raises :class:`Interrupted`. The driver then
writes out every queued MLflow write, marks the parent run and every unfinished trial run KILLED with
the signal's name, prints the ``--resume`` command and exits 128 + the signal number (143, 130). A
second signal, while that happens, exits at once with the same code.

Tune installs its own SIGINT handler inside ``Tuner.fit`` (``ray.tune.tune._setup_signal_catching``,
which returns the event its loop polls); genstudy gives Tune its own event instead, so that both signals
stop the loop the same way and the driver knows which one came.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator

SIGNALS = (signal.SIGTERM, signal.SIGINT)
EXIT_RECORD = 3  # stopped, or ended, with part of the MLflow record kept on disk (or refused by the store)
EXIT_DISK_FULL = 4  # stopped because a disk filled up: free space, then --resume
_ACTIVE: "Interrupts | None" = None  # the driver's handlers, for request_stop


class Interrupted(BaseException):
    """Raised in the main thread by the first signal outside Tune's loop (a BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Stopped(Exception):
    """The study stopped itself (no signal): ``reason`` says why, ``exit_code`` what the driver exits with."""

    def __init__(self, reason: str, exit_code: int):
        super().__init__(reason)
        self.reason, self.exit_code = reason, exit_code


class Interrupts:
    """The driver's signal handlers and the event Tune's loop polls."""

    def __init__(self, prog: str = "study.run", signum: int | None = None):
        self.prog = prog
        self.signum: int | None = signum  # a signal already received (by the handlers installed at start-up)
        self._deferred = False  # record the first signal, raise nothing (while modules are still importing)
        self.stopped: Stopped | None = None  # why the study stopped itself (its record went away, a full disk)
        self.stop = threading.Event()  # Tune's "experiment interrupted" event
        self._in_tune = False

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0

    def install(self, deferred: bool = False) -> None:
        """Handle SIGTERM and SIGINT here (again after ``ray.init``, whose core worker installs its own).

        ``deferred``: only note the first signal (installed before the slow imports of ``python -m study.run``;
        ``main`` then exits at once on it)."""
        global _ACTIVE
        _ACTIVE = self
        self._deferred = deferred
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    def arm(self) -> None:
        """From here on the first signal raises :class:`Interrupted` in the main thread (outside Tune's loop);
        one that came while deferred raises now. Until then it is only noted: during the imports and ``ray.init``
        of the set-up, an exception raised from a handler can land in importlib's module-lock callback, which
        ignores it (the study then went on, and once hung in ``ray.init``)."""
        self._deferred = False
        if self.signum is not None:
            raise Interrupted(self.signum)

    @staticmethod
    def keep_from_ray() -> None:
        """Keep Ray from replacing the SIGTERM handler: ``ray.init`` and its core worker install one that exits
        with status 15 at once (``ray._private.worker``), so a SIGTERM during ``ray.init`` would leave the
        parent run RUNNING. Imports Ray: call it just before ``ray.init``."""
        import ray._private.utils as ray_utils

        ray_utils.set_sigterm_handler = lambda handler: None

    def hand_to_tune(self) -> None:
        """Give Tune's loop this stop event instead of its own SIGINT handler (imports Ray: call it once Ray is up)."""
        import ray.tune.tune as tune_module

        tune_module._setup_signal_catching = lambda: self.stop

    @contextlib.contextmanager
    def tuning(self) -> Iterator[None]:
        """While Tune's loop runs, a signal ends it gracefully instead of raising."""
        self._in_tune = True
        try:
            yield
        except Exception:  # noqa: BLE001 - see below
            if self.signum is None and self.stopped is None:
                raise
            # asked to stop: Tune's wrap-up can fail on what stopped it (an error file truncated by a full disk)
        finally:
            self._in_tune = False
        if self.signum is not None:
            raise Interrupted(self.signum)
        if self.stopped is not None:
            raise self.stopped

    def stop_because(self, reason: str, exit_code: int) -> None:
        """End Tune's loop gracefully, without a signal (the first reason given is kept)."""
        self.stopped = self.stopped or Stopped(reason, exit_code)
        self.stop.set()

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None:  # the second signal: no more waiting
            print(f"{self.prog}: {signal.Signals(signum).name} again: exiting now; the study may have runs left "
                  "RUNNING in MLflow (--resume marks them KILLED)", file=sys.stderr, flush=True)
            os._exit(128 + self.signum)
        self.signum = signum
        print(f"{self.prog}: {self.name} received: stopping the trials and writing the record "
              f"(send {self.name} again to exit at once)", file=sys.stderr, flush=True)
        self.stop.set()
        if not self._in_tune and not self._deferred:
            raise Interrupted(signum)


def request_stop(reason: str, exit_code: int) -> None:
    """Stop the running study gracefully from anywhere in the driver (a Tune callback: its MLflow store went
    away, a trial found its disk full); ``--resume`` continues it. Outside a driver (no handlers installed) it
    raises, since nothing would stop."""
    if _ACTIVE is None:
        raise RuntimeError(f"no study to stop: {reason}")
    _ACTIVE.stop_because(reason, exit_code)
