"""The suggest-latency harness: windows by trial number, finite positive latencies, a saved state, a table."""

import math

from benchmarks import suggest


def test_harness_times_every_suggest_and_the_windows_it_reached(tmp_path):
    run = suggest.drive("gan_loss_sweep", trials=30, concurrency=8, save_dir=str(tmp_path))
    assert len(run.suggest_s) == len(run.suggest_cpu_s) == run.trials == 30
    assert all(math.isfinite(s) and s > 0 for s in run.suggest_s + run.suggest_cpu_s)
    assert run.windows() == {10: (10, 20)}  # 100 and 1,000 not reached in 30 trials
    assert 0 < run.median_suggest(10) < 5
    assert sorted(run.save_s) == list(range(10, 20)) and all(s > 0 for s in run.save_s.values())
    assert run.cpu_s > 0 and math.isfinite(run.best)
    row = suggest.table([run]).splitlines()[2]
    assert row.startswith("| gan_loss_sweep | 8 |") and row.count("|") == 8


def test_last_window_ends_at_the_last_trial():
    assert suggest.Run("s", 8, 1000).windows() == {10: (10, 20), 100: (100, 110), 1000: (990, 1000)}
    assert suggest.Run("s", 8, 105).windows() == {10: (10, 20), 100: (95, 105)}
