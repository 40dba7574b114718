"""One background thread that does a study's MLflow writes, in order, with metrics batched.

Tune's event loop hands results to callbacks synchronously; a slow store (SQLite under load, a
remote server) must not stall it. Writes are queued here and done by one thread: one writer means
no "database is locked" between trials, and metrics queued for a run are sent as one ``log_batch``
(up to 1,000 a call).

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
PROBE_S = 15.0  # while spooling, how often the store is tried again


@dataclass
class _Op:
    run_id: str
    method: str  # an MlflowClient method, or "metrics"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)
    cleanup: str | None = None  # a temporary folder to delete once written (or spooled)


class WriteQueue:
    """MLflow writes done in order by one background thread; ``call`` is a synchronous write after them."""

    def __init__(self, uri: str, spool_dir: str | Path | None = None):
        self.uri = uri
        self.client = store.client(uri)
        self.failures: list[str] = []
        self.spool_dir = None if spool_dir is None else Path(spool_dir)
        self._spool: spooling.Spool | None = None  # set while the store is unreachable
        self._last_probe = 0.0
        self._queue: queue.Queue[_Op | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="genstudy-mlflow-writer", daemon=True)
        self._thread.start()

    @property
    def spooled(self) -> int:
        """Writes kept on local disk because the store did not answer (0 once they were replayed)."""
        return spooling.pending(self.spool_dir) if self.spool_dir is not None else 0

    def spool_to(self, folder: str | Path) -> None:
        """Where writes go while the store is unreachable (the study's experiment folder, known after set-up)."""
        self.spool_dir = Path(folder)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A synchronous call (e.g. ``create_run``, whose id is needed at once), after queued writes.

        Raises:
            RecordUnavailable: the store has not answered within the patience (or is being spooled to).
        """
        self.flush()
        if self._spool is not None and not self._store_is_back():
            raise RecordUnavailable(f"the tracking store at {self.uri} does not answer; writes are kept in "
                                    f"{self.spool_dir}")
        return store.retry(getattr(self.client, method), *args, **kwargs)

    def metrics(self, run_id: str, metrics: list) -> None:
        self._queue.put(_Op(run_id, "metrics", metrics=metrics))

    def later(self, run_id: str, method: str, *args: Any, cleanup: str | None = None, **kwargs: Any) -> None:
        """Queue ``client.method(run_id, *args, **kwargs)``."""
        self._queue.put(_Op(run_id, method, args, kwargs, cleanup=cleanup))

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
        pending: dict[str, list] = defaultdict(list)
        for op in batch:
            if op.method == "metrics":
                pending[op.run_id].extend(op.metrics)
                continue
            self._send_metrics(pending)  # keep order: a run's metrics land before it is ended
            self._one(op.run_id, op.method, op.args, op.kwargs)
            if op.cleanup:
                shutil.rmtree(op.cleanup, ignore_errors=True)
        self._send_metrics(pending)

    def _send_metrics(self, pending: dict[str, list]) -> None:
        for run_id, metrics in pending.items():
            for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
                self._one(run_id, "log_batch", (metrics[i:i + MAX_METRICS_PER_BATCH],), {})
        pending.clear()

    def _one(self, run_id: str, method: str, args: tuple, kwargs: dict) -> None:
        """Write, or spool while the store is unreachable; a refused write is reported and counted."""
        if self._spool is not None:
            self._spool.append(run_id, method, args, kwargs)
            return
        try:
            store.retry(getattr(self.client, method), run_id, *args, **kwargs)
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
