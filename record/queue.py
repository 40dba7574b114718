"""One background thread that does a study's MLflow writes, in order, with metrics batched.

Tune's event loop hands results to callbacks synchronously; a slow store (SQLite under load, a
remote server) must not stall it. Writes are queued here and done by one thread: one writer means
no "database is locked" between trials, and metrics queued for a run are sent as one ``log_batch``
(up to 1,000 a call). A write that still fails after retries is reported on stderr, not dropped
silently, and the study goes on.
"""

from __future__ import annotations

import queue
import shutil
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from record import store

MAX_METRICS_PER_BATCH = 1000  # MLflow's limit for log_batch


@dataclass
class _Op:
    run_id: str
    method: str  # an MlflowClient method, or "metrics"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)
    cleanup: str | None = None  # a temporary folder to delete once written


class WriteQueue:
    """MLflow writes done in order by one background thread; ``call`` is a synchronous write after them."""

    def __init__(self, uri: str):
        self.uri = uri
        self.client = store.client(uri)
        self.failures: list[str] = []
        self._queue: queue.Queue[_Op | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="genstudy-mlflow-writer", daemon=True)
        self._thread.start()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A synchronous call (e.g. ``create_run``, whose id is needed at once), after queued writes."""
        self.flush()
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

    def _loop(self) -> None:
        while True:
            op = self._queue.get()
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
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[_Op]) -> None:
        pending: dict[str, list] = defaultdict(list)
        for op in batch:
            if op.method == "metrics":
                pending[op.run_id].extend(op.metrics)
                continue
            self._send_metrics(pending)  # keep order: a run's metrics land before it is ended
            self._safely(f"{op.method} {op.run_id}", getattr(self.client, op.method), op.run_id, *op.args, **op.kwargs)
            if op.cleanup:
                shutil.rmtree(op.cleanup, ignore_errors=True)
        self._send_metrics(pending)

    def _send_metrics(self, pending: dict[str, list]) -> None:
        for run_id, metrics in pending.items():
            for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
                chunk = metrics[i:i + MAX_METRICS_PER_BATCH]
                self._safely(f"log_batch {run_id}", self.client.log_batch, run_id, metrics=chunk)
        pending.clear()

    def _safely(self, what: str, fn: Callable, *args: Any, **kwargs: Any) -> None:
        try:
            store.retry(fn, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - report and go on: a study outlives one failed write
            message = f"genstudy: MLflow write failed after retries ({what}): {e}"
            self.failures.append(message)
            print(message, file=sys.stderr)
