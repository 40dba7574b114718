"""The writer's queue through an unreachable store: in order within the patience, spooled past it,
replayed when the store answers (a real SQLite store behind a switch that refuses connections)."""

from __future__ import annotations

import time

import pytest
import requests
from mlflow.entities import Metric, Param
from PIL import Image

from record import queue as queue_module
from record import spool, store
from record.queue import WriteQueue
from record.store import client
from tests.conftest import new_sqlite


class Switch:
    """A client whose every call raises a connection error while ``down``."""

    def __init__(self, inner):
        self.inner, self.down, self.refused = inner, False, 0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if self.down:
                self.refused += 1
                raise requests.exceptions.ConnectionError("connection refused (test switch)")
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def store_and_queue(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "MAX_BACKOFF_S", 0.2)
    monkeypatch.setattr(queue_module, "PROBE_S", 0.5)
    uri = new_sqlite(tmp_path)
    q = WriteQueue(uri, tmp_path / "spool")
    switch = Switch(q.client)
    q.client = switch
    exp = client(uri).create_experiment("x")
    run_id = client(uri).create_run(exp).info.run_id
    yield q, switch, client(uri), run_id, tmp_path
    switch.down = False
    q.close()


def _history(c, run_id):
    return [(m.step, m.value) for m in c.get_metric_history(run_id, "m")]


def test_a_store_back_within_the_patience_gets_every_write_in_order(store_and_queue, monkeypatch):
    q, switch, c, run_id, _ = store_and_queue
    monkeypatch.setenv(store.PATIENCE_ENV, "30")
    switch.down = True
    for step in range(1, 6):
        q.metrics(run_id, [Metric("m", float(step), 0, step)])
        q.later(run_id, "set_tag", "reports", str(step))
    time.sleep(1.0)
    assert switch.refused > 0 and q.spooled == 0  # still waiting, nothing spooled yet
    switch.down = False
    q.flush()
    assert _history(c, run_id) == [(s, float(s)) for s in range(1, 6)]
    assert c.get_run(run_id).data.tags["reports"] == "5"  # the last write is the last one made
    assert q.failures == []


def test_past_the_patience_writes_are_spooled_then_replayed_in_order(store_and_queue, monkeypatch):
    q, switch, c, run_id, tmp_path = store_and_queue
    monkeypatch.setenv(store.PATIENCE_ENV, "0.3")
    switch.down = True
    image = Image.new("RGB", (4, 4), (255, 0, 0))
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "weights.txt").write_text("w")
    for step in range(1, 4):
        q.metrics(run_id, [Metric("m", float(step), 0, step)])
    q.later(run_id, "log_batch", (), [Param("p", "1")])
    q.later(run_id, "log_image", image, key="grid", step=3)
    q.later(run_id, "log_artifacts", str(tmp_path / "art"), cleanup=str(tmp_path / "art"))
    q.flush()
    assert q.spooled >= 4 and _history(c, run_id) == []
    assert not (tmp_path / "art").exists()  # its temporary folder went: the spool keeps a copy
    switch.down = False
    deadline = time.time() + 10
    # the writer tries the store every PROBE_S; the replay counts a file done when it deletes it and removes the
    # folder after the last one, so wait for both
    while (q.spooled or (tmp_path / "spool").exists()) and time.time() < deadline:
        time.sleep(0.2)
    assert q.spooled == 0 and not (tmp_path / "spool").exists()
    assert _history(c, run_id) == [(1, 1.0), (2, 2.0), (3, 3.0)]
    assert c.get_run(run_id).data.params == {"p": "1"}
    names = {a.path for a in c.list_artifacts(run_id)}
    assert "weights.txt" in names and any(a.path.startswith("images") for a in c.list_artifacts(run_id))


def test_replay_stops_at_the_first_failure_and_continues_later(tmp_path):
    uri = new_sqlite(tmp_path)
    c = client(uri)
    run_id = c.create_run(c.create_experiment("x")).info.run_id
    s = spool.Spool(tmp_path / "spool")
    for step in range(1, 4):
        s.append(run_id, "log_batch", ([Metric("m", float(step), 0, step)],), {})
    switch = Switch(c)
    calls = []

    def flaky(fn, *args, **kwargs):
        calls.append(args)
        switch.down = len(calls) == 2  # the second write fails
        return fn(*args, **kwargs)

    with pytest.raises(requests.exceptions.ConnectionError):
        spool.replay(tmp_path / "spool", switch, flaky)
    assert spool.pending(tmp_path / "spool") == 2 and _history(c, run_id) == [(1, 1.0)]
    switch.down = False
    assert spool.replay(tmp_path / "spool", c, store.retry) == 2
    assert _history(c, run_id) == [(1, 1.0), (2, 2.0), (3, 3.0)]


def test_a_store_refusal_is_not_an_outage(tmp_path):
    """A write MLflow refuses for what it says (changing a logged param) is reported and counted, not spooled."""
    uri = new_sqlite(tmp_path)
    q = WriteQueue(uri, tmp_path / "spool")
    c = client(uri)
    run_id = c.create_run(c.create_experiment("x")).info.run_id
    q.later(run_id, "log_batch", (), [Param("p", "1")])
    q.later(run_id, "log_batch", (), [Param("p", "2")])
    q.close()
    assert len(q.failures) == 1 and q.spooled == 0 and c.get_run(run_id).data.params == {"p": "1"}
