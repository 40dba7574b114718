"""The search benchmark's bookkeeping: anytime curves from report timestamps, cuts at a budget, kept runs."""

import math

from benchmarks import search


def test_curve_counts_images_in_report_order_and_keeps_the_best_so_far():
    # (timestamp ms, val_nelbo) of three trials' reports, out of order; one diverged (nan)
    reports = [(3000, 120.0), (1000, 130.0), (2000, math.nan), (4000, 125.0)]
    c = search.curve(reports, images_per_report=100)
    assert c.images == [100, 200, 300, 400]
    assert c.best == [130.0, 130.0, 120.0, 120.0]
    assert c.seconds == [0.0, 1.0, 2.0, 3.0]
    assert c.best_at(250) == 130.0 and c.best_at(300) == 120.0 and c.best_at(50) == math.inf
    assert c.images_to_reach(125.0) == 300 and c.images_to_reach(100.0) == math.inf
    assert c.seconds_at(400) == 3.0


def test_a_kept_run_is_read_back_instead_of_measured(tmp_path):
    c = search.Curve([100, 200], [0.0, 1.5], [130.0, 120.0])
    assert search._kept(tmp_path, "random-fifo-seed0") is None
    search._keep(tmp_path, "random-fifo-seed0", c, 42.0)
    assert search._kept(tmp_path, "random-fifo-seed0") == (c, 42.0)
    assert search._kept(None, "random-fifo-seed0") is None


def test_the_budget_is_what_random_fifo_trains_every_trial_to_the_end():
    assert search.budget(n=16, epochs=8, train_size=8000) == 1_024_000


def test_per_seed_pairs_the_methods_seed_by_seed_and_counts_ties_as_at_least_as_good():
    rows, k = search.per_seed([120.0, 118.0, 125.0], [117.5, 118.0, 126.0])
    assert [r[0] for r in rows] == [0, 1, 2]
    assert [r[3] for r in rows] == [-2.5, 0.0, 1.0]
    assert [r[4] for r in rows] == [True, True, False]
    assert k == 2


def test_methods_are_parsed_from_searcher_plus_scheduler_and_unknown_ones_refused():
    import argparse

    import pytest

    from benchmarks.run import _methods

    assert _methods("random+asha, tpe+asha") == (("random", "asha"), ("tpe", "asha"))
    with pytest.raises(argparse.ArgumentTypeError):
        _methods("grid+asha")


def test_gan_compute_a_report_is_the_whole_batches_d_sees_between_reports():
    from benchmarks import search_gan

    assert search_gan.images_per_report(2048, 2) == 1024
    assert search_gan.images_per_report(2000, 2, batch=64) == 992  # 31 whole batches of 64, split in 2 reports


def test_gan_best_within_the_budget_takes_reports_in_arrival_order_and_the_test_fid_of_that_report():
    from benchmarks import search_gan

    # (timestamp ms, val_fid, test_fid), out of order; the best val_fid (50) arrives after the budget
    reports = [(3000, 80.0, 82.0), (1000, 100.0, 101.0), (4000, 50.0, 51.0), (500, math.nan, math.nan)]
    assert search_gan.best_within(reports, per_report=10, budget=30) == (80.0, 82.0, 30)
    assert search_gan.best_within(reports, per_report=10, budget=40) == (50.0, 51.0, 40)
    assert search_gan.best_within(reports, per_report=10, budget=39) == (80.0, 82.0, 30)
    val, test, images = search_gan.best_within(reports[1:2] + reports[3:], per_report=10, budget=5)
    assert val == math.inf and math.isnan(test) and images == 0


def test_a_study_is_stopped_once_its_store_holds_the_reports_of_b(tmp_path):
    import sys

    db = tmp_path / "study.db"
    assert search.reports_logged(db) == 0  # no store yet
    # a stand-in study: logs 300 val_nelbo reports, one every 20 ms, and ends (exit 0) unless stopped
    script = ("import sqlite3, sys, time\n"
              "con = sqlite3.connect(sys.argv[1]); con.execute('CREATE TABLE metrics (key TEXT)')\n"
              "for _ in range(300):\n"
              "    con.execute(\"INSERT INTO metrics VALUES ('val_nelbo')\"); con.commit(); time.sleep(0.02)\n")
    rc, _ = search.run_until([sys.executable, "-c", script, str(db)], db, stop_after=5, poll_s=0.2)
    assert rc != 0  # stopped by the signal, not ended
    assert 5 <= search.reports_logged(db) < 300
