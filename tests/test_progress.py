"""genstudy's progress view: the pure state (events in, lines out), the Tune callback fed fake trials,
and a real smoke study piped (one line per trial event, no Ray table, few lines)."""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
from types import SimpleNamespace

import pytest

from study import result_keys as keys
from study.progress_state import Plan, Progress, asha_rungs, duration, expected_reports_left

from .confirm_study import confirmed_study

# the quick profile of vae_beta_sweep: 10 trials of 12 reports, ASHA from report 2, keeping 1 in 3
QUICK = Plan(study="vae_beta_sweep", phase="search", metric="val_nelbo", mode="min", test_metric="test_nelbo",
             total=10, max_t=12, rungs=(2, 6), reduction_factor=3, name_keys=("beta", "latent_dim", "arch"))
FIFO = Plan(study="s", phase="confirmation", metric="val_acc_gap", mode="max", test_metric="test_acc_gap",
            total=4, max_t=10, prefix="confirm")


def result(report: int, val: float, test: float | None = None, **extra) -> dict:
    out = {"training_iteration": report, QUICK.metric: val, **extra}
    if test is not None:
        out[QUICK.test_metric] = test
    return out


# --- pure functions --------------------------------------------------------------------------------
@pytest.mark.parametrize("grace,rf,max_t", [(2, 3, 12), (1, 2, 4), (1, 2, 2), (1, 3, 9), (5, 3, 100), (3, 3, 3)])
def test_asha_rungs_are_rays(grace, rf, max_t):
    """The rungs are where Ray's ASHA decides (its bracket's milestones), those below max_t."""
    from ray.tune.schedulers import ASHAScheduler

    bracket = ASHAScheduler(time_attr="training_iteration", max_t=max_t, grace_period=grace,
                            reduction_factor=rf)._brackets[0]
    assert asha_rungs(grace, rf, max_t) == tuple(sorted(m for m, _ in bracket._rungs if m < max_t))


def test_asha_rungs_known_values():
    assert asha_rungs(2, 3, 12) == (2, 6)  # the quick profile: decisions at reports 2 and 6 of 12
    assert asha_rungs(1, 3, 9) == (1, 3)  # 9 is max_t: no decision there


def test_expected_reports_left_known_values():
    # a new trial: 2 reports, then 4 more with chance 1/3, then 6 more with chance 1/9
    assert expected_reports_left(0, QUICK) == pytest.approx(2 + 4 / 3 + 6 / 9)
    assert expected_reports_left(2, QUICK) == pytest.approx(4 + 6 / 3)  # it passed rung 2
    assert expected_reports_left(6, QUICK) == pytest.approx(6)  # past the last rung: to the end
    assert expected_reports_left(12, QUICK) == 0
    assert expected_reports_left(3, FIFO) == 7  # no rungs: every report to max_t


def test_duration():
    assert [duration(s) for s in (0, 45.4, 60, 252, 3599, 3600, 3780)] == \
        ["0s", "45s", "1m00s", "4m12s", "59m59s", "1h00m", "1h03m"]


# --- events in, lines out ----------------------------------------------------------------------------
def test_a_search_line_per_event_with_counts_and_best():
    p = Progress(QUICK, start=100.0)
    out = p.started("a1", {"beta": 0.8123, "latent_dim": 12, "arch": "mlp", "lr": 0.01}, 101)
    assert out == ["[search 0/10 done, 1 running, 1s] trial-1 started [a1]: β=0.812 latent=12 mlp"]
    assert p.started("b2", {"beta": 4.0, "latent_dim": 8, "arch": "conv"}, 102)[0].endswith("trial-2 started [b2]: "
                                                                                              "β=4 latent=8 conv")
    assert p.reported("a1", result(1, 150.0, 151.0), 110) == []  # not a rung: counted, no line
    rung = p.reported("a1", result(2, 120.0, 121.5), 120)
    assert len(rung) == 1 and rung[0].endswith("trial-1 report 2/12 (ASHA rung): val_nelbo = 120.000 "
                                               "(test_nelbo = 121.500)")
    p.reported("b2", result(1, 200.0, 199.0), 121)
    p.reported("b2", result(2, 190.0, 189.0), 122)
    stop = p.completed("b2", result(2, 190.0, 189.0), 125)
    # 4 reports in 25 s; left: trial 1 past rung 2 expects 4 + 6/3, each of 8 not started 2 + 4/3 + 6/9: 38 reports
    assert p.eta_s(125) == pytest.approx(38 / (4 / 25))  # 237.5 s
    assert stop == ["[search 1/10 done, 1 running, 25s, ~3m58s left] trial-2 stopped early by ASHA after report 2/12: "
                    "best val_nelbo = 190.000 (test_nelbo = 189.000) at report 2"]
    # a later, worse report of trial 1 leaves its best (and the test number beside it) at report 2
    for r, v in ((3, 118.0), (4, 125.0)):
        p.reported("a1", result(r, v, v + 1.0), 126 + r)
    assert p.best_line() == ("val_nelbo = 118.000 (test_nelbo = 119.000), trial-1 β=0.812 latent=12 mlp [a1] "
                             "at report 3")
    c = p.counts()
    assert (c["finished"], c["stopped early"], c["failed"], c["running"]) == (0, 1, 0, 1)


def test_finished_and_failed_trials_and_the_reason():
    p = Progress(QUICK, start=0.0)
    p.started("a", {}, 1)
    p.started("b", {}, 1)
    p.started("c", {}, 1)
    for r in range(1, 13):
        p.reported("a", result(r, 100.0 - r), 10 * r)
    assert p.completed("a", result(12, 88.0), 121)[0].endswith("trial-1 finished (12 reports): best val_nelbo = "
                                                               "88.000 at report 12")
    p.reported("b", result(1, math.nan), 130)  # diverged: NaN is no value and never the best
    failed = p.completed("b", {"training_iteration": 1, keys.FAILURE: "diverged: loss is nan at step 30"}, 131)
    assert failed[0].endswith("trial-2 failed after report 1: diverged: loss is nan at step 30")
    assert p.is_failed("b") and not p.is_failed("a")
    assert p.failed("c", "ValueError: boom (traceback: /x/error.txt)", 140)[0].startswith(
        "[search 3/10 done, 0 running, 2m20s") and p.is_failed("c")
    c = p.counts()
    assert (c["finished"], c["stopped early"], c["failed"], c["running"]) == (1, 0, 2, 0)
    assert p.best_id == "a"
    p.started("d", {}, 141)
    retry = p.failed("d", "OSError: disk", 142, retrying=True)
    assert "trial-4 failed after report 0, retrying: OSError: disk" in retry[0] and not p.is_failed("d")
    assert p.counts()["running"] == 1  # a retry is no failure yet
    assert p.started("d", {}, 143)[0].endswith("trial-4 restarted from report 0")


def test_a_nan_report_is_never_the_best():
    p = Progress(QUICK, start=0.0)
    p.started("b", {}, 1)
    p.reported("b", result(1, math.nan, math.nan), 5)  # diverged first, before any other report
    assert p.best_id is None and p.view(5)[2] == "best: no report yet"
    p.started("a", {}, 6)
    p.reported("a", result(1, 150.0), 10)
    p.reported("b", result(2, 160.0), 11)
    assert p.best_id == "a" and p.trials["b"].best == 160.0


def test_max_mode_picks_the_largest():
    p = Progress(FIFO, start=0.0)
    p.started("x", {"seed": 7}, 0)
    p.started("y", {"seed": 8}, 0)
    p.reported("x", {"training_iteration": 1, "val_acc_gap": 0.30, "test_acc_gap": 0.25}, 5)
    p.reported("y", {"training_iteration": 1, "val_acc_gap": 0.45, "test_acc_gap": 0.40}, 6)
    p.reported("x", {"training_iteration": 2, "val_acc_gap": 0.40, "test_acc_gap": 0.41}, 7)
    assert p.best_line() == "val_acc_gap = 0.450 (test_acc_gap = 0.400), confirm-2 seed=8 [y] at report 1"


def test_eta_counts_reports_left_over_the_rate_so_far():
    """FIFO, 4 trials of 10 reports, 2 at once: after 4 reports in 40 s (0.1 a second) 36 are left: 6 minutes."""
    p = Progress(FIFO, start=0.0)
    assert p.eta_s(5) is None  # no report yet: no rate
    p.started("x", {}, 0)
    p.started("y", {}, 0)
    for r, t in ((1, 18), (2, 38)):
        p.reported("x", {"training_iteration": r, "val_acc_gap": 0.1}, t)
        p.reported("y", {"training_iteration": r, "val_acc_gap": 0.1}, t + 1)
    assert p.eta_s(40) == pytest.approx((8 + 8 + 2 * 10) / (4 / 40))
    assert p.prefix(40) == "[confirmation 0/4 done, 2 running, 40s, ~6m00s left]"
    # ASHA: the same reports, but not-started trials expect 4 reports each, running ones 6 after rung 2
    q = Progress(QUICK, start=0.0)
    q.started("x", {}, 0)
    q.reported("x", result(1, 1.0), 10)
    q.reported("x", result(2, 1.0), 20)
    assert q.eta_s(20) == pytest.approx((6 + 9 * (2 + 4 / 3 + 6 / 9)) / (2 / 20))


def test_terminal_view_names_phase_counts_best_eta_and_its_assumption():
    p = Progress(FIFO, start=0.0)
    assert p.view(3) == ["s: confirmation, 3s elapsed, estimate after the first report",
                         "trials: 0 of 4 done (0 finished, 0 stopped early, 0 failed), 0 running",
                         "best: no report yet"]
    p.started("x", {"seed": 1}, 0)
    p.reported("x", {"training_iteration": 1, "val_acc_gap": 0.2, "test_acc_gap": 0.1}, 10)
    view = p.view(10)
    assert view[0] == "s: confirmation, 10s elapsed, ~6m30s left (every trial to report 10, at the rate so far)"
    assert view[2] == "best: val_acc_gap = 0.200 (test_acc_gap = 0.100), confirm-1 seed=1 [x] at report 1"
    assert view[3] == "last: confirm-1 started [x]: seed=1"
    q = Progress(QUICK, start=0.0)
    q.started("x", {}, 0)
    q.reported("x", result(1, 1.0), 10)
    assert "(if ASHA keeps 1 in 3 per rung, at the rate so far)" in q.view(10)[0]


def test_status_line_only_after_a_quiet_minute():
    p = Progress(QUICK, start=0.0)
    assert p.tick(59) == []
    assert p.tick(60) == ["[search 0/10 done, 0 running, 1m00s] 0 finished, 0 stopped early, 0 failed, 0 running"]
    assert p.tick(100) == []
    p.started("x", {}, 110)  # an event line resets the clock
    assert p.tick(169) == [] and len(p.tick(170)) == 1


def test_restored_trials_are_counted():
    p = Progress(QUICK, start=0.0)
    p.restored("a", {}, {"training_iteration": 12}, errored=False)
    p.restored("b", {}, {"training_iteration": 2}, errored=False)
    p.restored("c", {}, {"training_iteration": 1, keys.FAILURE: "diverged"}, errored=False)
    p.restored("d", {}, {}, errored=True)
    c = p.counts()
    assert (c["finished"], c["stopped early"], c["failed"], c["running"]) == (1, 1, 2, 0)
    assert p.started("e", {}, 1)[0].endswith("trial-5 started [e]")


def test_ended_line_without_an_estimate():
    p = Progress(dataclasses.replace(FIFO, total=1), start=0.0)
    p.started("x", {}, 0)
    p.reported("x", {"training_iteration": 10, "val_acc_gap": 0.2}, 30)
    p.completed("x", {"training_iteration": 10}, 31)
    assert p.ended(32) == ["[confirmation 1/1 done, 0 running, 32s] confirmation ended: 1 finished, 0 stopped "
                           "early, 0 failed, 0 running; best val_acc_gap = 0.200, confirm-1 [x] at report 10"]


# --- the callback, fed fake trials --------------------------------------------------------------------
class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def trial(trial_id: str, **kw) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, config=kw.pop("config", {}), last_result=kw.pop("last_result", {}),
                           status=kw.pop("status", "RUNNING"), error_file=None, path=None,
                           run_metadata=SimpleNamespace(error_filename=None))


def test_callback_prints_a_line_per_event_to_a_pipe(tmp_path):
    from study.progress import ProgressCallback

    out, clock = io.StringIO(), Clock()
    cb = ProgressCallback(QUICK, stream=out, clock=clock)
    cb.setup()
    cb.on_step_begin(0, [trial("old", status="TERMINATED", last_result={"training_iteration": 12})])
    a = trial("a")
    cb.on_trial_start(0, [], a)
    clock.t = 30
    cb.on_trial_result(0, [], a, result(2, 120.0, 121.0))
    error = tmp_path / "error.txt"  # the driver's copy; Tune keeps it in the trial's folder in the storage path
    error.write_text("Traceback (most recent call last):\n  ...\nValueError: boom\n\n")
    a.error_file, a.path, a.run_metadata.error_filename = str(error), "/store/exp/trial_a", "error.txt"
    clock.t = 40
    cb.on_trial_error(0, [], a)
    clock.t = 200
    cb.on_step_end(0, [])  # a quiet while: one status line
    cb.on_step_end(0, [])
    cb.on_experiment_end([])
    lines = out.getvalue().splitlines()
    assert lines == [
        "[search 1/10 done, 1 running, 0s] trial-2 started [a]",
        # 1 report in 30 s; left: trial-2 past rung 2 expects 6 reports, 8 not started 4 each: 38 x 30 s
        "[search 1/10 done, 1 running, 30s, ~19m00s left] trial-2 report 2/12 (ASHA rung): val_nelbo = 120.000 "
        "(test_nelbo = 121.000)",
        "[search 2/10 done, 0 running, 40s, ~21m20s left] trial-2 failed after report 2: ValueError: boom "
        "(traceback: /store/exp/trial_a/error.txt)",
        "[search 2/10 done, 0 running, 3m20s, ~1h46m left] 1 finished, 0 stopped early, 1 failed, 0 running; "
        "best val_nelbo = 120.000 (test_nelbo = 121.000), trial-2 [a] at report 2",
        "[search 2/10 done, 0 running, 3m20s] search ended: 1 finished, 0 stopped early, 1 failed, "
        "0 running; best val_nelbo = 120.000 (test_nelbo = 121.000), trial-2 [a] at report 2",
    ]


def test_a_resume_of_an_ended_experiment_counts_its_trials():
    """Killed after the search ended: the resume's experiment ends at once, with no step; its trials count."""
    from study.progress import ProgressCallback

    out = io.StringIO()
    cb = ProgressCallback(dataclasses.replace(QUICK, total=2), stream=out, clock=Clock())
    cb.setup()
    cb.on_experiment_end([trial("a", status="TERMINATED", last_result=result(12, 100.0)),
                          trial("b", status="ERROR", last_result=result(1, 300.0))])
    assert out.getvalue() == "[search 2/2 done, 0 running, 0s] search ended: 1 finished, 0 stopped early, 1 failed, " \
                             "0 running\n"


def test_a_resume_keeps_the_trial_numbers():
    """Trials are numbered in start order, as their MLflow runs are named; Tune's creation order differs, so
    the numbers go into Tune's experiment state and a resumed study names each trial as before."""
    from study.progress import ProgressCallback

    first = ProgressCallback(QUICK, stream=io.StringIO(), clock=Clock())
    first.setup()
    for trial_id in ("a", "x", "b"):
        first.on_trial_start(0, [], trial(trial_id))
    saved = first.get_state()
    out = io.StringIO()
    again = ProgressCallback(QUICK, stream=out, clock=Clock())
    again.set_state(saved)  # Tune restores callback state before setup
    again.setup()
    again.on_step_begin(0, [trial("x", status="TERMINATED", last_result=result(2, 100.0)), trial("a"), trial("b")])
    for trial_id in ("b", "a", "c"):
        again.on_trial_start(0, [], trial(trial_id))
    assert [ln.split("] ", 1)[1] for ln in out.getvalue().splitlines()] == \
        ["trial-3 started [b]", "trial-1 started [a]", "trial-4 started [c]"]


def test_callback_redraws_in_place_on_a_terminal():
    from study.progress import ProgressCallback

    out, clock = Tty(), Clock()
    cb = ProgressCallback(QUICK, stream=out, clock=clock)
    cb.setup()
    a = trial("a")
    cb.on_trial_start(0, [], a)
    clock.t = 0.5
    cb.on_step_end(0, [])  # under a second since the last draw: nothing
    drawn = out.getvalue()
    clock.t = 1.5
    cb.on_step_end(0, [])  # the elapsed time moves: redrawn over the old block
    assert out.getvalue()[len(drawn):].startswith("\x1b[4F\x1b[J")
    cb.on_trial_complete(0, [], trial("a", last_result={"training_iteration": 1, keys.FAILURE: "diverged: nan"}))
    cb.on_experiment_end([])
    screen = render(out.getvalue())
    assert screen == [
        "[search 1/10 done, 0 running, 2s] trial-1 failed after report 1: diverged: nan",  # stays above the view
        "vae_beta_sweep: search, 2s elapsed, estimate after the first report",
        "trials: 1 of 10 done (0 finished, 0 stopped early, 1 failed), 0 running",
        "best: no report yet",
        "last: trial-1 failed after report 1: diverged: nan",
    ]


def render(text: str) -> list[str]:
    """The screen a terminal shows after ``text``: the few ANSI sequences Terminal writes, interpreted."""
    screen, row = [], 0
    for token in re.split(r"(\x1b\[\d*[FJK]|\r|\n)", text):
        if token in ("", "\r", "\x1b[K"):
            continue
        if token == "\n":
            row += 1
        elif token == "\x1b[J":
            del screen[row:]
        elif token.startswith("\x1b["):
            row -= int(token[2:-1])
        else:
            screen[row:row + 1] = [token]
    return screen


def test_callback_drops_rays_trial_tracebacks_while_it_shows():
    """Ray logs ~30 lines of traceback per failed attempt; the view prints its last line and the file instead."""
    import logging

    from study.progress import ProgressCallback

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    log = logging.getLogger("ray.tune.execution.tune_controller")
    log.addHandler(handler)
    try:
        cb = ProgressCallback(QUICK, stream=io.StringIO(), clock=Clock())
        cb.setup()
        log.error("Trial task failed for trial run_trial_1")
        log.error("Something else broke")
        cb.on_experiment_end([])
        log.error("Trial task failed for trial run_trial_2")  # the view is gone: Ray's log is back
    finally:
        log.removeHandler(handler)
    assert seen == ["Something else broke", "Trial task failed for trial run_trial_2"]


def test_views_plan_a_study_phase(monkeypatch):
    from study.progress import ProgressCallback, views
    from study.resolve import resolve

    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    r = resolve("vae_beta_sweep", "quick")
    assert views(r, "search", r.num_samples, verbose=True) == []  # --verbose: Ray's output instead
    assert "RAY_AIR_NEW_OUTPUT" not in os.environ  # and Ray's default engine
    (search,) = views(r, "search", r.num_samples, verbose=False)
    assert isinstance(search, ProgressCallback) and os.environ["RAY_AIR_NEW_OUTPUT"] == "0"  # Ray's output off
    plan = search.plan
    assert (plan.total, plan.max_t, plan.rungs, plan.reduction_factor) == (10, 12, (2, 6), 3)
    assert search.plan.metric == "val_nelbo" and search.plan.test_metric == "test_nelbo" and search.plan.mode == "min"
    (confirm,) = views(r, "confirmation", 4, verbose=False, fifo=True, prefix="confirm")
    assert (confirm.plan.phase, confirm.plan.total, confirm.plan.rungs, confirm.plan.prefix) == \
        ("confirmation", 4, (), "confirm")


def test_callback_pickles_without_its_stream_and_turns_ray_off_when_restored(monkeypatch):
    import pickle

    from study.progress import ProgressCallback

    cb = ProgressCallback(QUICK, stream=io.StringIO(), clock=Clock())
    cb.setup()
    data = pickle.dumps(cb)  # Tune saves the callbacks with the Tuner
    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    back = pickle.loads(data)  # --resume: Tuner.restore, before fit
    assert back.plan == QUICK and back.state is None and back.stream is None
    assert os.environ["RAY_AIR_NEW_OUTPUT"] == "0"


def test_quiet_ray_picks_the_engine_that_is_silent_at_verbose_0(monkeypatch):
    from ray.tune.experimental.output import get_air_verbosity

    from study.progress import quiet_ray

    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    assert get_air_verbosity(0) is not None  # Ray's default engine: it prints at verbose=0 (see quiet_ray)
    quiet_ray()
    assert get_air_verbosity(0) is None  # the legacy engine, silent at verbose=0
    monkeypatch.setenv("RAY_AIR_NEW_OUTPUT", "1")
    quiet_ray()
    assert get_air_verbosity(0) is not None  # a user's own setting stands


# --- a real study, piped --------------------------------------------------------------------------------
BOX = re.compile("[╭╮╰╯│├┤─]")


@pytest.mark.e2e
def test_smoke_study_piped_prints_a_line_per_trial_event(shared_base, mnist_root):
    """3 search trials of 2 reports (an ASHA rung at report 1), then 2 configurations confirmed with 2 seeds each,
    binarised (tests/confirm_study.py, shared with tests/test_confirm_e2e.py).

    Bounds: stdout from the study's first line to its last holds at most 37 lines, of which at most 21 are the
    view's: per search trial a start, a rung and an end, per confirmation trial a start and an end (3 x 3 + 4 x 2
    = 17), one "ended" line per phase (2), a status line per quiet minute (none expected, 2 allowed); the other
    16 are genstudy's own summaries (10 after the search with the NLL estimate's, 6 around the confirmation;
    measured 35 lines in all).
    stderr holds set-up lines only (measured 3: Ray's token warning, MLflow's two schema lines; at most 6).
    Before this view, a search of 3 trials alone (no confirmation) printed 192 lines: Ray's tables."""
    p = confirmed_study(shared_base, mnist_root)
    assert p.code == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = p.stdout.splitlines()
    both = out + p.stderr.splitlines()
    tables = ("Trial status", "Trial run_trial", "== Status ==")  # Ray's default engine's and its legacy one's
    assert not [ln for ln in both if BOX.search(ln) or any(t in ln for t in tables)], both
    search = [ln for ln in out if ln.startswith("[search ")]
    confirm = [ln for ln in out if ln.startswith("[confirmation ")]
    assert sum(" started [" in ln for ln in search) == 3
    assert sum(re.search(r"\] trial-\d (finished|stopped early|failed)", ln) is not None for ln in search) == 3
    assert sum(" (ASHA rung): val_nelbo = " in ln for ln in search) >= 1
    assert sum(" started [" in ln for ln in confirm) == 4 and sum(" finished (2 reports)" in ln for ln in confirm) == 4
    assert search[-1].startswith("[search 3/3 done, 0 running, ") and " search ended: " in search[-1]
    assert confirm[-1].startswith("[confirmation 4/4 done, 0 running, ") and " confirmation ended: " in confirm[-1]
    # the search's best as the view saw it is the summary's best trial, with the test number beside it
    best = re.search(r"best val_nelbo = ([\d.]+) \(test_nelbo = ([\d.]+)\), trial-\d.* \[(\w+)\]", search[-1])
    summary = re.search(r"best trial (\w+) \(chosen on val_nelbo\): val_nelbo = ([\d.]+), test_nelbo = ([\d.]+)",
                        p.stdout)
    assert best and summary and (best[3], best[1], best[2]) == summary.groups(), (search[-1], summary)
    first = next(i for i, ln in enumerate(out) if ln.startswith("[search "))
    assert len(search) + len(confirm) <= 21 and len(out) - first <= 37, "\n".join(out[first:])
    assert len(p.stderr.splitlines()) <= 6, p.stderr


def test_pbt_names_each_exploit_and_not_its_pauses():
    p = Progress(dataclasses.replace(QUICK, rungs=(), pauses=True), start=0.0)
    p.started("a", {}, 1)
    p.started("b", {}, 1)
    p.reported("a", result(1, 100.0), 2)
    p.reported("b", result(1, 120.0), 2)
    assert p.started("b", {}, 3) == []  # PBT paused it at the perturbation: starting again is no event
    line = p.reported("b", result(2, 99.0, 98.0, **{keys.COPIED_FROM: "a", keys.COPIED_REPORT: 1}), 4)
    assert line[0].endswith("trial-2 continued from trial-1's checkpoint of report 1 with changed values (PBT): "
                            "val_nelbo = 99.000 (test_nelbo = 98.000)")
    assert p.reported("a", result(2, 98.0), 5) == []  # no rung, no copy: counted, no line
