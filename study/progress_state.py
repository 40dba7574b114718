"""What ``python -m study.run`` shows of a running phase, as pure state: trial events in, lines out.

``study.progress`` feeds it Ray Tune's trial events and prints what it returns; nothing here imports
Ray or reads a clock (every method takes ``now``), so tests drive it with made-up events and times.

Two outputs: ``event`` lines (one per trial event, each prefixed with how far the phase is, for a
log or a pipe) and ``view`` (a few lines a terminal redraws in place).

The estimate of what is left (``eta_s``) counts the reports still to come and divides by the rate
at which reports arrived so far in this phase (all trials together, so it includes how many run at
once). Reports to come: every trial not yet started trains from its first report, every running
one from its last; a FIFO phase trains each to ``max_t``; under ASHA a trial continues past each
rung with probability 1/reduction_factor (ASHA's keep fraction, as if the trials were comparable).
Configurations over the parameter cap count as planned trials that never start, so they lengthen
the estimate until the phase ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from study import result_keys as keys
from study.mlflow_ui import trial_run_name

RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped early", "failed"


@dataclass(frozen=True)
class Plan:
    """What a phase will run: the numbers the view counts against."""

    study: str
    phase: str  # "search" or "confirmation"
    metric: str  # the validation metric the study selects on
    mode: str  # "min" or "max"
    test_metric: str | None  # reported beside the metric, never selected on
    total: int  # trials planned (the search's proposals: those over the cap never start)
    max_t: int  # reports of a full trial
    rungs: tuple[int, ...] = ()  # ASHA's milestones below max_t (where it stops trials); () without ASHA
    reduction_factor: int = 3  # ASHA keeps 1 in this many at each rung
    name_keys: tuple[str, ...] = ()  # config keys in a trial's name, as in its MLflow run's name
    prefix: str = "trial"  # "trial" for the search's names, "confirm" for the confirmation's
    status_every_s: float = 60.0  # a pipe gets a status line after this long without one
    pauses: bool = False  # PBT pauses every trial at each perturbation: a trial starting again is not news


def asha_rungs(grace_period: int, reduction_factor: int, max_t: int) -> tuple[int, ...]:
    """The reports at which Ray's ASHA (one bracket) decides whether a trial goes on, below ``max_t``:
    ``grace_period * rf**k``, as many as ``ray.tune.schedulers.async_hyperband`` makes."""
    n = int(math.log(max_t / grace_period) / math.log(reduction_factor) + 1)
    return tuple(m for m in (grace_period * reduction_factor ** k for k in range(n)) if m < max_t)


def expected_reports_left(done: int, plan: Plan) -> float:
    """Reports a trial with ``done`` reports is expected to train still: 1 for each report to ``max_t``,
    times 1/rf for each rung it has yet to pass before that report."""
    left = 0.0
    for report in range(done + 1, plan.max_t + 1):
        rungs_between = sum(done < m < report for m in plan.rungs)
        left += plan.reduction_factor ** -rungs_between
    return left


def duration(seconds: float) -> str:
    """``45s``, ``4m12s``, ``1h03m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


@dataclass
class TrialState:
    number: int  # in start order, from 1: the number in its MLflow run's name
    name: str  # "trial-3 β=0.81 latent=12 mlp"
    status: str = RUNNING
    reports: int = 0  # the last training_iteration seen
    best: float | None = None  # its best value of the metric so far
    best_test: float | None = None  # the test metric at that report
    best_report: int = 0


@dataclass
class Progress:
    """The state of one phase; each event method returns the lines it is worth (possibly none)."""

    plan: Plan
    start: float  # when the phase started (seconds, any clock the caller keeps to)
    trials: dict[str, TrialState] = field(default_factory=dict)
    best_id: str | None = None  # the trial holding the best value so far
    new_reports: int = 0  # reports that arrived since ``start`` (the rate's numerator)
    last_line_at: float | None = None  # when the last event or status line was returned (None: at start)
    last_event: str = ""  # the last event, for the terminal view
    numbers: dict[str, int] = field(default_factory=dict)  # trial id -> its number, in start order as MLflow's
    # run names (study.mlflow_callback); the callback keeps it in Tune's experiment state, so a resume keeps them

    def __post_init__(self) -> None:
        if self.last_line_at is None:
            self.last_line_at = self.start

    # --- events -------------------------------------------------------------------------------
    def started(self, trial_id: str, config: Mapping[str, Any], now: float) -> list[str]:
        t = self.trials.get(trial_id)
        if t is not None:  # Tune restarts a trial after a worker failure, from its last checkpoint
            t.status = RUNNING
            if self.plan.pauses:
                return []
            return self._event(f"{self._short(trial_id)} restarted from report {t.reports}", now)
        number = self._number_of(trial_id)
        name = trial_run_name(number, config, self.plan.name_keys, self.plan.prefix)
        self.trials[trial_id] = TrialState(number, name)
        values = name.partition(" ")[2]
        return self._event(f"{self.plan.prefix}-{number} started [{trial_id}]" + (f": {values}" if values else ""),
                           now)

    def reported(self, trial_id: str, result: Mapping[str, Any], now: float) -> list[str]:
        """One report: counted, and a line at an ASHA rung (where the trial may be stopped)."""
        t = self.trials.get(trial_id)
        report = int(result.get("training_iteration", 0))
        if t is None or report <= t.reports:
            return []
        t.reports = report
        self.new_reports += 1
        value, test = _number(result.get(self.plan.metric)), _number(result.get(self.plan.test_metric))
        if value is not None and (t.best is None or self._better(value, t.best)):
            t.best, t.best_test, t.best_report = value, test, report
            if self.best_id is None or self._better(value, self.trials[self.best_id].best):
                self.best_id = trial_id
        donor = result.get(keys.COPIED_FROM)
        if donor is not None:
            name = self._short(donor) if donor in self.trials else str(donor)
            return self._event(f"{self._short(trial_id)} continued from {name}'s checkpoint of report "
                               f"{result.get(keys.COPIED_REPORT)} with changed values (PBT): "
                               f"{self._values(value, test) if value is not None else ''}".rstrip(": "), now)
        if report not in self.plan.rungs or value is None:
            return []
        return self._event(f"{self._short(trial_id)} report {report}/{self.plan.max_t} (ASHA rung): "
                           f"{self._values(value, test)}", now)

    def completed(self, trial_id: str, last_result: Mapping[str, Any], now: float) -> list[str]:
        """The trial ended without an exception: trained to ``max_t``, stopped by ASHA, or failed with
        a failure result of the trainable's (a diverged loss, CUDA out of memory)."""
        t = self.trials.get(trial_id)
        if t is None:
            return []
        t.reports = max(t.reports, int(last_result.get("training_iteration", 0)))
        if last_result.get(keys.FAILURE):
            return self.failed(trial_id, str(last_result[keys.FAILURE]), now)
        t.status = self._ended_status(t.reports)
        what = (f"finished ({t.reports} reports)" if t.status == FINISHED
                else f"stopped early by ASHA after report {t.reports}/{self.plan.max_t}")
        best = f": best {self._values(t.best, t.best_test)} at report {t.best_report}" if t.best is not None else ""
        return self._event(f"{self._short(trial_id)} {what}{best}", now)

    def failed(self, trial_id: str, reason: str, now: float, retrying: bool = False) -> list[str]:
        t = self.trials.get(trial_id)
        if t is None:
            return []
        if retrying:  # Tune starts it again from its last checkpoint; it still counts as running
            return self._event(f"{self._short(trial_id)} failed after report {t.reports}, retrying: {reason}", now)
        t.status = FAILED
        return self._event(f"{self._short(trial_id)} failed after report {t.reports}: {reason}", now)

    def restored(self, trial_id: str, config: Mapping[str, Any], last_result: Mapping[str, Any],
                 errored: bool) -> None:
        """A trial that ended before a resumed phase started: Tune sends no events for it, it is counted."""
        if trial_id in self.trials:
            return
        number, reports = self._number_of(trial_id), int(last_result.get("training_iteration", 0))
        status = FAILED if errored or last_result.get(keys.FAILURE) else self._ended_status(reports)
        name = trial_run_name(number, config, self.plan.name_keys, self.plan.prefix)
        self.trials[trial_id] = TrialState(number, name, status, reports)

    def tick(self, now: float) -> list[str]:
        """A status line when none was returned for ``status_every_s`` (a pipe's heartbeat)."""
        if now - self.last_line_at < self.plan.status_every_s:
            return []
        self.last_line_at = now
        return [f"{self.prefix(now)} {self.status(now)}"]

    def ended(self, now: float) -> list[str]:
        """The phase's last line (no estimate: whatever did not start, e.g. over the cap, never will)."""
        self.last_line_at = now
        return [f"{self.prefix(now, estimate=False)} {self.plan.phase} ended: {self.status(now)}"]

    # --- what is shown ------------------------------------------------------------------------
    def is_failed(self, trial_id: str) -> bool:
        return trial_id in self.trials and self.trials[trial_id].status == FAILED

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in (RUNNING, FINISHED, STOPPED, FAILED)}
        for t in self.trials.values():
            out[t.status] += 1
        return out

    def eta_s(self, now: float) -> float | None:
        """Seconds left in this phase (see the module docstring); None before the first report."""
        if self.new_reports == 0 or now <= self.start:
            return None
        not_started = max(0, self.plan.total - len(self.trials))
        left = not_started * expected_reports_left(0, self.plan) + sum(
            expected_reports_left(t.reports, self.plan) for t in self.trials.values() if t.status == RUNNING)
        return left / (self.new_reports / (now - self.start))

    def prefix(self, now: float, estimate: bool = True) -> str:
        """``[search 3/10 done, 2 running, 4m12s, ~6m01s left]``"""
        c = self.counts()
        done = c[FINISHED] + c[STOPPED] + c[FAILED]
        eta = self.eta_s(now) if estimate else None
        left = "" if not eta else f", ~{duration(eta)} left"  # none before the first report and at the end
        return (f"[{self.plan.phase} {done}/{self.plan.total} done, {c[RUNNING]} running, "
                f"{duration(now - self.start)}{left}]")

    def status(self, now: float) -> str:
        c = self.counts()
        line = f"{c[FINISHED]} finished, {c[STOPPED]} stopped early, {c[FAILED]} failed, {c[RUNNING]} running"
        return line + (f"; best {self.best_line()}" if self.best_id else "")

    def best_line(self) -> str:
        """``val_nelbo = 104.213 (test_nelbo = 104.830), trial-3 β=0.81 latent=12 mlp [id] at report 6``"""
        t = self.trials[self.best_id]
        return f"{self._values(t.best, t.best_test)}, {t.name} [{self.best_id}] at report {t.best_report}"

    def view(self, now: float) -> list[str]:
        """The lines a terminal shows, redrawn in place."""
        c = self.counts()
        eta = self.eta_s(now)
        left = ("estimate after the first report" if eta is None else "nothing left" if not eta else
                f"~{duration(eta)} left ({self._assumption()})")
        lines = [f"{self.plan.study}: {self.plan.phase}, {duration(now - self.start)} elapsed, {left}",
                 f"trials: {c[FINISHED] + c[STOPPED] + c[FAILED]} of {self.plan.total} done ({c[FINISHED]} finished, "
                 f"{c[STOPPED]} stopped early, {c[FAILED]} failed), {c[RUNNING]} running",
                 "best: " + (self.best_line() if self.best_id else "no report yet")]
        return lines + ([f"last: {self.last_event}"] if self.last_event else [])

    # --- helpers ------------------------------------------------------------------------------
    def _event(self, text: str, now: float) -> list[str]:
        self.last_line_at, self.last_event = now, text
        return [f"{self.prefix(now)} {text}"]

    def _assumption(self) -> str:
        if not self.plan.rungs:
            return f"every trial to report {self.plan.max_t}, at the rate so far"
        return f"if ASHA keeps 1 in {self.plan.reduction_factor} per rung, at the rate so far"

    def _number_of(self, trial_id: str) -> int:
        return self.numbers.setdefault(trial_id, max(self.numbers.values(), default=0) + 1)

    def _ended_status(self, reports: int) -> str:
        return FINISHED if reports >= self.plan.max_t else STOPPED

    def _short(self, trial_id: str) -> str:
        return f"{self.plan.prefix}-{self.trials[trial_id].number}"

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.plan.mode == "min" else a > b

    def _values(self, value: float, test: float | None) -> str:
        shown = f"{self.plan.metric} = {value:.3f}"
        return shown + (f" ({self.plan.test_metric} = {test:.3f})" if test is not None else "")


def _number(v: Any) -> float | None:
    """A finite metric value, else None (a diverged trial reports NaN)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)
