"""genstudy's progress view of a running phase: a Ray Tune callback in the driver.

It feeds Tune's trial events to ``study.progress_state.Progress`` and prints what that returns: on a
terminal, a few lines redrawn in place (phase, counts, best so far with its test number, elapsed,
an estimate of what is left) with failures printed above them; anywhere else (a pipe, a file, CI),
one line per trial event (started, each ASHA rung, finished, stopped early, failed with its reason)
and a status line after a minute without one.

It replaces Ray's own output, which ``python -m study.run --verbose`` keeps (see ``quiet_ray``): the
two never print together, because Ray's lines would land inside the redrawn view.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TextIO

from ray.tune import Callback

from record import schema as S
from study.progress_state import Plan, Progress, asha_rungs

REDRAW_EVERY_S = 1.0  # the terminal view's elapsed time and estimate move once a second
TRIAL_FAILED_LOG = "Trial task failed for trial"  # Ray's ERROR log line, followed by the whole traceback


def quiet_ray() -> None:
    """Ray's output off, before ``Tuner.fit``: done wherever a ``ProgressCallback`` is made (``views``) or
    restored with a Tuner (``--resume``), so Ray's output is off exactly when the view shows.

    Tune's default output engine (``RAY_AIR_NEW_OUTPUT=1`` in Ray 2.60) still prints, at
    ``RunConfig(verbose=0)``, a box-drawn table of each experiment's configuration, a "View detailed
    results here" line and a result table per errored trial (``ray.tune.experimental.output``); the
    legacy engine prints nothing at ``verbose=0``. A user's own ``RAY_AIR_NEW_OUTPUT`` stands.
    """
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


def views(r, phase: str, total: int, verbose: bool, fifo: bool = False, prefix: str = "trial") -> list:
    """The callbacks that show a phase of study ``r`` (a ``study.resolve.Resolved``): none with
    ``--verbose`` (Ray's output instead), else its ``ProgressCallback``; ``total`` trials of ``r.max_t``
    reports, under ASHA's rungs unless ``fifo`` (or the study's scheduler is FIFO)."""
    if verbose:
        return []
    from study.resolve import run_name_keys

    quiet_ray()
    asha = not fifo and r.scheduler in ("asha", "hyperband")  # hyperband: the rungs of its first bracket
    grace = min(r.profile.grace_period, r.max_t)  # as study.tuner.make_scheduler gives ASHA
    plan = Plan(study=r.study.name, phase=phase, metric=r.study.metric, mode=r.study.mode,
                test_metric=r.study.test_metric, total=total, max_t=r.max_t,
                rungs=asha_rungs(grace, r.profile.reduction_factor, r.max_t) if asha else (),
                reduction_factor=r.profile.reduction_factor, name_keys=run_name_keys(r), prefix=prefix,
                pauses=not fifo and r.scheduler in S.POPULATION_BASED)
    return [ProgressCallback(plan)]


class ProgressCallback(Callback):
    """Prints the progress of one Tune experiment (a phase) to ``stream`` (default: ``sys.stdout`` at
    each write, which keeps the callback picklable: Tune saves it with the Tuner)."""

    def __init__(self, plan: Plan, stream: TextIO | None = None, clock=time.monotonic):
        self.plan, self.stream, self.clock = plan, stream, clock
        self.state: Progress | None = None
        self.terminal: Terminal | None = None
        self.synced = False  # trials that ended before a resume are counted once, at the first step
        self.drawn_at = -float("inf")
        self.numbers: dict[str, int] = {}  # trial id -> number, saved with Tune's experiment state

    def __getstate__(self) -> dict:
        return ProgressCallback(self.plan).__dict__  # its plan only: a stream or a test's clock may not pickle

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        quiet_ray()  # restored with a Tuner (--resume): the experiment is shown as it was when it started

    def get_state(self) -> dict:
        return {"numbers": dict(self.numbers)}

    def set_state(self, state: dict) -> None:
        self.numbers = dict(state.get("numbers", {}))

    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def _emit(self, lines: list[str], failure: bool = False) -> None:
        """Event lines: printed as they are to a pipe; on a terminal the view is redrawn and only a
        failure's line stays, printed above it (its reason would be gone at the next event)."""
        if self.terminal is None:
            for line in lines:
                print(line, file=self._out(), flush=True)
        else:
            self._redraw(lines if failure else [])

    def _redraw(self, above: list[str] = ()) -> None:
        self.drawn_at = self.clock()
        self.terminal.draw(self.state.view(self.drawn_at), above)

    # --- Tune hooks -----------------------------------------------------------------------------
    def setup(self, **info) -> None:
        self.state = Progress(self.plan, start=self.clock(), numbers=self.numbers)
        out = self._out()
        self.terminal = Terminal(out) if out.isatty() else None
        logging.getLogger("ray.tune.execution.tune_controller").addFilter(_no_trial_tracebacks)
        if self.terminal is not None:
            self._redraw()

    def on_step_begin(self, iteration: int, trials: list, **info) -> None:
        self._sync(trials)

    def _sync(self, trials: list) -> None:
        """Count the trials a resumed experiment starts with: ended ones send no events. A resume of an
        experiment that had ended (killed during the summary) takes no step: its end syncs."""
        if self.synced:
            return
        self.synced = True
        for trial in trials:
            if trial.status in ("TERMINATED", "ERROR"):
                self.state.restored(trial.trial_id, trial.config, trial.last_result or {}, trial.status == "ERROR")

    def on_step_end(self, iteration: int, trials: list, **info) -> None:
        now = self.clock()
        if self.terminal is None:
            self._emit(self.state.tick(now))
        elif now - self.drawn_at >= REDRAW_EVERY_S:
            self._redraw()

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        self._emit(self.state.started(trial.trial_id, trial.config, self.clock()))

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        self._emit(self.state.reported(trial.trial_id, result, self.clock()))

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        lines = self.state.completed(trial.trial_id, trial.last_result or {}, self.clock())
        self._emit(lines, failure=self.state.is_failed(trial.trial_id))

    def on_trial_recover(self, iteration: int, trials: list, trial, **info) -> None:
        self._emit(self.state.failed(trial.trial_id, _reason(trial), self.clock(), retrying=True), failure=True)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        self._emit(self.state.failed(trial.trial_id, _reason(trial), self.clock()), failure=True)

    def on_experiment_end(self, trials: list, **info) -> None:
        self._sync(trials)
        logging.getLogger("ray.tune.execution.tune_controller").removeFilter(_no_trial_tracebacks)
        if self.terminal is None:
            self._emit(self.state.ended(self.clock()))
        else:
            self._redraw()
            self.terminal.release()


class Terminal:
    """A block of lines redrawn in place (ANSI cursor movement); lines printed above it stay.

    Each line is cut to the terminal's width, so none wraps and the block's height is its line count.
    Output from elsewhere between two draws (a warning) lands inside the block and is drawn over.
    """

    def __init__(self, stream: TextIO):
        self.stream, self.height = stream, 0

    def draw(self, block: list[str], above: list[str] = ()) -> None:
        width = max(20, shutil.get_terminal_size().columns - 1)
        up = f"\x1b[{self.height}F" if self.height else "\r"  # to the block's first line
        text = "".join(f"{line}\n" for line in above) + "".join(f"{line[:width]}\x1b[K\n" for line in block)
        self.stream.write(up + "\x1b[J" + text)  # \x1b[J: clear the old block first
        self.stream.flush()
        self.height = len(block)

    def release(self) -> None:
        """Leave the last block on screen: what is printed next goes below it."""
        self.height = 0


def _no_trial_tracebacks(record: logging.LogRecord) -> bool:
    """Drop Ray's "Trial task failed" ERROR record (a traceback of ~30 lines per failed attempt): the view
    prints the failure's last line with the path of the file holding the traceback."""
    return not record.getMessage().startswith(TRIAL_FAILED_LOG)


def _reason(trial) -> str:
    """``ValueError: boom (traceback: <trial folder>/error.txt)``: the last line of Tune's error file for the
    trial, read where the driver writes it, named where Tune keeps it (the trial's folder in the storage path;
    the driver's copy is under /tmp/ray/session_*, gone with the session)."""
    path = trial.error_file
    try:
        last = [ln for ln in Path(path).read_text().splitlines() if ln.strip()][-1].strip() if path else "error"
    except (OSError, IndexError):
        last = "error"
    name = trial.run_metadata.error_filename
    kept = f"{trial.path}/{name}" if trial.path and name else path
    return f"{last} (traceback: {kept})" if kept else last
