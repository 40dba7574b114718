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
