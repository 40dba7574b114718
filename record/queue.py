"""One background thread that does a study's MLflow writes, in order, with metrics batched.

Tune's event loop hands results to callbacks synchronously; a slow store (SQLite under load, a
remote server) must not stall it. Writes are queued here and done by one thread: one writer means
no "database is locked" between trials, and the metrics and tags queued for a run are sent as one
``log_batch`` (up to 1,000 metrics a call; a tag set twice goes once, with its last value).

When the store stops answering, the thread retries the write with back-off while the study goes on
and later writes queue behind it, in order; a store back within the patience
(``GENSTUDY_MLFLOW_PATIENCE_S``, 300 s in a driver) receives everything. Past it, the writes go to a
spool on local disk (:mod:`record.spool`): the one in hand and every later one, in order, while the
thread tries the store again every ``PROBE_S`` seconds and replays the spool when it answers. What
is still spooled when the study ends is counted in :attr:`WriteQueue.spooled`: the driver exits 3 and
``--resume`` writes it. A write the store refuses for what it says (a 4xx other than 429) is reported
on stderr and counted in :attr:`WriteQueue.failures`.
"""

from __future__ import annotations

import queue
import shutil
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from record import spool as spooling
from record import store
from record.errors import RecordUnavailable

MAX_METRICS_PER_BATCH = 1000  # MLflow's limit for log_batch
# Writes that drivers sharing an experiment make with the same content, maybe at the same moment: on PostgreSQL
# the second insert of a new experiment tag or dataset is refused (a unique-key violation; 4 threads at once
# straight to the database: 52 of 120 tags and 12 of 80 datasets refused; through a server 1 of 120 and 2 of 80,
# measured). Made again they find the row, and making them twice changes nothing, so a refused one gets one more try.
IDEMPOTENT = ("set_experiment_tag", "log_inputs")
PROBE_S = 15.0  # while spooling, how often the store is tried again


@dataclass
class QueueStats:
    """What a queue did: store calls made, metric values sent, the most writes ever waiting, seconds in the store."""

    store_calls: int = 0
    metric_values: int = 0
    peak_depth: int = 0
    busy_s: float = 0.0

    def __add__(self, other: "QueueStats") -> "QueueStats":
        return QueueStats(self.store_calls + other.store_calls, self.metric_values + other.metric_values,
                          max(self.peak_depth, other.peak_depth), self.busy_s + other.busy_s)


@dataclass
class _Batch:
    """What one ``log_batch`` sends for a run: metrics in order, tags by key (the last value set)."""

    metrics: list = field(default_factory=list)
    tags: dict = field(default_factory=dict)


@dataclass
class _Op:
    run_id: str
    method: str  # an MlflowClient method, or "metrics"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)
    tags: dict = field(default_factory=dict)  # with "metrics": tags set in the same batch
    cleanup: str | None = None  # a temporary folder to delete once written (or spooled)


class WriteQueue:
    """MLflow writes done in order by one background thread; ``call`` is a synchronous write after them."""

    def __init__(self, uri: str, spool_dir: str | Path | None = None):
        self.uri = uri
        self.client = store.client(uri)
        self.failures: list[str] = []
        self.stats = QueueStats()
        self.spool_dir = None if spool_dir is None else Path(spool_dir)
        self._spool: spooling.Spool | None = None  # set while the store is unreachable
        self._last_probe = 0.0
        self._queue: queue.Queue[_Op | None] = queue.Queue()
        # one store call at a time from this process, a synchronous call first: on SQLite, a driver's create_run
        # beside the thread's writes waited in SQLite's busy handler (sleeps of up to 100 ms) while the thread held
        # the database, and Tune's event loop with it (benchmarks/scale.py)
        self._store_lock = threading.Lock()
        self._waiting = 0  # synchronous calls waiting for the store: the thread lets them go first
        self._count = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="genstudy-mlflow-writer", daemon=True)
        self._thread.start()

    @property
    def spooled(self) -> int:
        """Writes kept on local disk because the store did not answer (0 once they were replayed)."""
        return spooling.pending(self.spool_dir) if self.spool_dir is not None else 0

    def spool_to(self, folder: str | Path) -> None:
        """Where writes go while the store is unreachable (the study's experiment folder, known after set-up)."""
        self.spool_dir = Path(folder)

    def call(self, method: str, *args: Any, after_queued: bool = True, **kwargs: Any) -> Any:
        """A synchronous call (e.g. ``create_run``, whose id is needed at once), after queued writes; with
        ``after_queued=False``, at once, beside them (a call that no queued write can change, such as a new run:
        the caller, Tune's event loop, then does not wait for the queue to drain).

        Raises:
            RecordUnavailable: the store has not answered within the patience (or is being spooled to).
        """
        if after_queued:
            self.flush()
        if self._spool is not None and not self._store_is_back():
            raise RecordUnavailable(f"the tracking store at {store.shown_uri(self.uri)} does not answer; writes are "
                                    f"kept in {self.spool_dir}")
        with self._count:
            self._waiting += 1
        try:
            with self._store_lock:
                return self._attempt(method, *args, **kwargs)
        finally:
            with self._count:
                self._waiting -= 1

    def metrics(self, run_id: str, metrics: list, tags: dict[str, str] | None = None) -> None:
        """Queue metrics (and tags) for ``run_id``: what is queued for a run goes in one ``log_batch``."""
        self._put(_Op(run_id, "metrics", metrics=metrics, tags=dict(tags or {})))

    def later(self, run_id: str, method: str, *args: Any, cleanup: str | None = None, **kwargs: Any) -> None:
        """Queue ``client.method(run_id, *args, **kwargs)``."""
        self._put(_Op(run_id, method, args, kwargs, cleanup=cleanup))

    def _put(self, op: _Op) -> None:
        self._queue.put(op)
        self.stats.peak_depth = max(self.stats.peak_depth, self._queue.qsize())

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=30)

    # --- the thread ---------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            try:
                op = self._queue.get(timeout=PROBE_S if self._spool is not None else None)
            except queue.Empty:  # spooling and idle: is the store back?
                self._store_is_back()
                continue
            if op is None:
                self._queue.task_done()
                return
            batch = [op]
            while True:  # drain what is queued, so metrics of many reports go in one call
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    self._queue.task_done()
                    break
                batch.append(nxt)
            try:
                self._write(batch)
            except Exception as e:  # noqa: BLE001 - the thread must outlive anything one batch does
                self._failed(f"{len(batch)} writes", e)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[_Op]) -> None:
        if self._spool is not None and time.monotonic() - self._last_probe > PROBE_S:
            self._store_is_back()
        pending: dict[str, _Batch] = defaultdict(_Batch)
        for op in batch:
            if op.method == "metrics":
                pending[op.run_id].metrics.extend(op.metrics)
                pending[op.run_id].tags.update(op.tags)
                continue
            self._send_metrics(pending)  # keep order: a run's metrics land before it is ended
            self._one(op.run_id, op.method, op.args, op.kwargs)
            if op.cleanup:
                shutil.rmtree(op.cleanup, ignore_errors=True)
        self._send_metrics(pending)

    def _send_metrics(self, pending: dict[str, "_Batch"]) -> None:
        from mlflow.entities import RunTag

        for run_id, b in pending.items():
            if not b.metrics and not b.tags:
                continue
            tags = [RunTag(k, v) for k, v in b.tags.items()]  # a few keys (reports made, node): with the first call
            for i in range(0, max(1, len(b.metrics)), MAX_METRICS_PER_BATCH):
                self._one(run_id, "log_batch", (b.metrics[i:i + MAX_METRICS_PER_BATCH],), {"tags": tags} if tags else {})
                tags = []
            self.stats.metric_values += len(b.metrics)
        pending.clear()

    def _one(self, run_id: str, method: str, args: tuple, kwargs: dict) -> None:
        """Write, or spool while the store is unreachable; a refused write is reported and counted."""
        if self._spool is not None:
            self._spool.append(run_id, method, args, kwargs)
            return
        while self._waiting:  # a synchronous call is waiting for the store: it goes first
            time.sleep(0.001)
        started = time.perf_counter()
        try:
            with self._store_lock:
                self._attempt(method, run_id, *args, **kwargs)
        except RecordUnavailable as e:
            if self.spool_dir is None:
                self._failed(f"{method} {run_id}", e)
                return
            self._spool = spooling.Spool(self.spool_dir)
            self._last_probe = time.monotonic()
            print(f"genstudy: {e}; until it answers, MLflow writes are kept in {self.spool_dir} (--resume writes "
                  "them)", file=sys.stderr, flush=True)
            self._spool.append(run_id, method, args, kwargs)
        except Exception as e:  # noqa: BLE001 - report and go on: a study outlives one refused write
            self._failed(f"{method} {run_id}", e)
        finally:
            self.stats.store_calls += 1
            self.stats.busy_s += time.perf_counter() - started

    def _attempt(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.method(*args, **kwargs)`` with :func:`record.store.retry`; once more if the store refused one
        of the :data:`IDEMPOTENT` writes."""
        fn = getattr(self.client, method)
        try:
            return store.retry(fn, *args, **kwargs)
        except RecordUnavailable:
            raise
        except Exception:  # noqa: BLE001 - the refusal's type depends on the store (RestException, MlflowException)
            if method not in IDEMPOTENT:
                raise
            return store.retry(fn, *args, **kwargs)

    def _failed(self, what: str, e: BaseException) -> None:
        message = f"genstudy: MLflow write failed after retries ({what}): {e}"
        self.failures.append(message)
        print(message, file=sys.stderr, flush=True)

    def _store_is_back(self) -> bool:
        """While spooling: try the store once; when it answers, write the spool out and stop spooling."""
        self._last_probe = time.monotonic()
        try:
            store.retry(self.client.search_experiments, max_results=1, patience=0)
            replayed = spooling.replay(self.spool_dir, self.client, lambda fn, *a, **k: store.retry(fn, *a, patience=0,
                                                                                                     **k))
        except Exception:  # noqa: BLE001 - still away (or away again during the replay: the rest stays)
            return False
        print(f"genstudy: the tracking store answers again: {replayed} kept writes written", file=sys.stderr,
              flush=True)
        self._spool = None
        return True
