"""A synchronous store call (a trial's ``create_run``, in Tune's event loop) beside the writer thread's queued writes:
one store call at a time from the process, and the synchronous one next, after the write in hand. Before, both went
to SQLite at once and the event loop waited in SQLite's busy handler (benchmarks/scale.py, BENCHMARKS.md section 6)."""

from __future__ import annotations

import threading
import time

from record.queue import WriteQueue
from tests.conftest import new_sqlite

WRITE_S = 0.02  # each queued write holds the store this long
WRITES, ROUNDS = 10, 10


class SlowStore:
    """A client whose calls take ``WRITE_S`` each, recording their order and how many ran at once."""

    def __init__(self):
        self.calls: list[str] = []
        self.live = self.most_live = 0
        self._lock = threading.Lock()

    def _call(self, name: str):
        with self._lock:
            self.live += 1
            self.most_live = max(self.most_live, self.live)
        time.sleep(WRITE_S)
        with self._lock:
            self.live -= 1
            self.calls.append(name)
        return name

    def set_tag(self, run_id, key, value):
        return self._call(f"set_tag {value}")

    def create_run(self, experiment_id):
        return self._call("create_run")


def test_a_synchronous_call_goes_next_and_never_beside_a_queued_write(tmp_path):
    q = WriteQueue(new_sqlite(tmp_path))
    q.client = slow = SlowStore()
    for attempt in range(ROUNDS):  # a thread that merely re-takes a released lock wins some rounds: all must pass
        slow.calls.clear()
        for i in range(WRITES):
            q.later("run", "set_tag", "k", str(i))
        time.sleep(WRITE_S / 2)  # the thread has the first write in hand
        started = time.perf_counter()
        assert q.call("create_run", "0", after_queued=False) == "create_run"
        waited = time.perf_counter() - started
        q.flush()
        assert slow.most_live == 1, "a synchronous call and a queued write were in the store at once"
        assert slow.calls.index("create_run") <= 2, (attempt, slow.calls)  # after the write in hand (and one more)
        assert waited < 5 * WRITE_S, waited  # not behind the queued writes
        assert [c for c in slow.calls if c != "create_run"] == [f"set_tag {i}" for i in range(WRITES)]  # in order
    q.close()


def test_the_thread_holds_its_writes_while_a_synchronous_call_waits(tmp_path):
    """The turn-taking itself (a released lock alone does not hand it over: the thread may take it back first)."""
    q = WriteQueue(new_sqlite(tmp_path))
    q.client = slow = SlowStore()
    q._waiting = 1  # as while a synchronous call waits for the store
    q.later("run", "set_tag", "k", "0")
    time.sleep(10 * WRITE_S)
    assert slow.calls == []  # held
    q._waiting = 0
    q.flush()
    assert slow.calls == ["set_tag 0"]
    q.close()
