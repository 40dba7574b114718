"""What the writer's queues report of themselves (record.queue.QueueStats), logged on a study's parent run as the
tracking.* metrics: store calls, metric values, the peak queue depth, seconds in the store."""

from __future__ import annotations

import threading

from record import schema as S
from record.writer import Writer, queue_stats
from tests.conftest import new_sqlite


def test_a_queue_counts_its_calls_values_peak_and_time(tmp_path, monkeypatch):
    w = Writer(new_sqlite(tmp_path, "mlflow.db"))
    exp = w.experiment("stats_test", {})
    run_id = w.open_study(exp, "parent", study="stats_test", profile="smoke", family="vae", unit="epoch", params={},
                          tags={})
    before = w.stats.store_calls
    gate = threading.Event()
    inner = w._queue._one

    def held(*args):  # the first queued write waits, so the next five queue behind it
        gate.wait(10)
        inner(*args)

    monkeypatch.setattr(w._queue, "_one", held)
    for step in range(1, 6):
        w.report(run_id, step, {"val_x": float(step), "test_x": 0.0})
    gate.set()
    w.flush()
    stats = w.stats
    assert stats.metric_values == 10
    assert stats.peak_depth >= 5  # every report queued two or more writes while the first one waited
    assert stats.store_calls > before and stats.busy_s > 0
    total = queue_stats()
    assert total.metric_values >= 10 and total.peak_depth >= stats.peak_depth
    w.tracking_stats(run_id, stats)
    w.flush()
    logged = w.client.get_run(run_id).data.metrics
    assert logged[S.TRACKING_METRIC_VALUES] == 10 and logged[S.TRACKING_QUEUE_PEAK] == stats.peak_depth
    w.close()


def test_a_report_is_one_store_call_with_its_tags(tmp_path):
    """A report's metrics and its tags (reports made, node) go in one ``log_batch``, and reports queued together for
    a run go in one call: the store sees a call per batch, not one per tag."""
    w = Writer(new_sqlite(tmp_path, "mlflow.db"))
    exp = w.experiment("stats_test", {})
    run_id = w.open_study(exp, "parent", study="stats_test", profile="smoke", family="vae", unit="epoch", params={},
                          tags={})
    w.flush()
    before = w.stats.store_calls
    w.report(run_id, 1, {"val_x": 1.0}, node_id="n1", node_ip="127.0.0.2")
    w.flush()
    assert w.stats.store_calls - before == 1
    run = w.client.get_run(run_id)
    assert run.data.tags[S.REPORTS_RUN] == "1" and run.data.tags[S.NODE_ID] == "n1"
    w.close()
