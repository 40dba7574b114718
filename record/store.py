"""The MLflow store a study is recorded in: its URI, a fail-fast check, the client, and retrying.

All MLflow writes of a study happen in the driver process, one at a time: trials send their
metrics through Ray, so many trials never write to one SQLite file at once. Writes still retry
on the errors that pass (see :func:`is_transient`), for studies that share a database or a server.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from record.errors import RecordUnavailable, UsageError

T = TypeVar("T")
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
SQLITE_LOCKED = ("database is locked", "database table is locked")  # SQLite's busy errors, which pass
RETRY_HTTP_STATUS = (429, 503)  # too many requests, unavailable: a server asking the client to come back


def tracking_uri(cli_value: str | None) -> str:
    """``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``."""
    return cli_value or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative to the working directory), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):]).expanduser().resolve()


def preflight(uri: str, timeout_s: float = 8.0) -> None:
    """Fail fast (UsageError) when ``uri`` cannot be written to or reached."""
    if uri.startswith("file:") or (("://" not in uri) and uri.rstrip("/").endswith("mlruns")):
        raise UsageError(f"tracking URI {uri!r} is a file store, which MLflow 3.13+ refuses; "
                         "fix: use --tracking-uri sqlite:///mlflow.db or an http:// server")
    db = sqlite_path(uri)
    if db is not None:
        if not db.parent.is_dir() or not os.access(db.parent, os.W_OK):
            raise UsageError(f"tracking URI {uri!r}: folder {db.parent} does not exist or is not writable; "
                             "fix: create it or choose another --tracking-uri")
        return
    if uri.startswith(("http://", "https://")):
        url = uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                resp.read(1)
        except urllib.error.HTTPError as e:
            raise UsageError(f"tracking URI {uri!r} answered HTTP {e.code}: not an MLflow server? "
                             "fix: check the address, or start one with `mlflow server`") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise UsageError(f"tracking URI {uri!r} is unreachable ({reason}); "
                             "fix: start the server (see README) or pass another --tracking-uri") from None
        return
    if "://" not in uri:
        raise UsageError(f"tracking URI {uri!r} is not a URI; fix: e.g. sqlite:///mlflow.db or http://127.0.0.1:5000")


def _chain(e: BaseException):
    """``e`` and the errors it wraps (``raise ... from``, SQLAlchemy's ``orig``), each once."""
    seen: set[int] = set()
    todo = [e]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        todo += [err.__cause__, err.__context__, getattr(err, "orig", None)]


def is_transient(e: BaseException) -> bool:
    """An error that passes if the call is made again: SQLite's "database is locked" (another writer
    holds the file), or an HTTP 429 / 503 from a tracking server. Judged by the error's type and
    status code, never by digits in its text (a run id may hold "503")."""
    from mlflow.exceptions import MlflowException

    errors = list(_chain(e))
    sqlite = [err for err in errors if isinstance(err, sqlite3.OperationalError)]
    if sqlite:  # MLflow reports every SQLAlchemy OperationalError as 503; only the lock passes
        return any(str(err).lower().startswith(SQLITE_LOCKED) for err in sqlite)
    for err in errors:
        if isinstance(err, MlflowException) and err.get_http_status_code() in RETRY_HTTP_STATUS:
            return True
        status = getattr(getattr(err, "response", None), "status_code", None)  # requests.HTTPError
        if status in RETRY_HTTP_STATUS:
            return True
    return False


SQLITE_UNAVAILABLE = ("disk i/o error", "unable to open database file", "database or disk is full")
UNREACHABLE_HTTP_STATUS = (500, 502, 503, 504)  # the server, or a proxy before it, is failing, busy or gone
PATIENCE_ENV = "GENSTUDY_MLFLOW_PATIENCE_S"
DEFAULT_PATIENCE_S = 300.0  # how long a driver waits for an unreachable store before it spools (record.queue)
MAX_BACKOFF_S = 30.0


def is_unreachable(e: BaseException) -> bool:
    """The store is not there for now: the server refuses connections, times out or answers 500 / 502 / 504,
    or the SQLite file cannot be opened or written (disk I/O, disk full). Waiting may help."""
    import requests
    from mlflow.exceptions import MlflowException

    for err in _chain(e):
        if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)):
            return True
        if isinstance(err, sqlite3.OperationalError) and str(err).lower().startswith(SQLITE_UNAVAILABLE):
            return True
        if isinstance(err, MlflowException) and err.get_http_status_code() in UNREACHABLE_HTTP_STATUS \
                and "API request to" in str(err):
            return True
    return False


def patience_s() -> float:
    """How long writes wait for an unreachable store: ``$GENSTUDY_MLFLOW_PATIENCE_S`` (the driver sets the
    default, 300 s); 0 elsewhere (analysis fails at once)."""
    return float(os.environ.get(PATIENCE_ENV, "0") or 0)


def retry(fn: Callable[..., T], *args: Any, attempts: int = 10, patience: float | None = None, **kwargs: Any) -> T:
    """Call ``fn`` and retry transient store errors (:func:`is_transient`) with exponential back-off
    (0.05 s .. ~25 s), and an unreachable store (:func:`is_unreachable`) for up to ``patience`` seconds
    (default :func:`patience_s`; back-off 1 s .. 30 s), then raise :class:`record.errors.RecordUnavailable`.
    Any other error is raised at once."""
    patience = patience_s() if patience is None else patience
    i, since = 0, None
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - MLflow wraps SQLAlchemy and HTTP errors in several types
            if is_transient(e) and i < attempts - 1:
                time.sleep(0.05 * 2**i)
                i += 1
                continue
            if not is_unreachable(e):
                raise
            since = time.monotonic() if since is None else since
            waited = time.monotonic() - since
            if waited >= patience:
                if patience <= 0:
                    raise
                raise RecordUnavailable(f"the tracking store has not answered for {waited:.0f} s ({_cause(e)})") from e
            time.sleep(min(MAX_BACKOFF_S, 2.0 ** min(i, 5), max(0.1, patience - waited)))
            i += 1


def _cause(e: BaseException) -> str:
    """The innermost error of ``e``'s chain, short: "ConnectionRefusedError: [Errno 111] Connection refused"."""
    inner = list(_chain(e))[-1]
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text[:120]}" if text else type(inner).__name__


SCHEMA_LOCK_TIMEOUT_S = 300.0  # how long a driver waits for another to create a new database's schema


def client(uri: str):
    """An MLflow client of ``uri``. For SQLite, constructing it creates (or upgrades) the database's schema:
    drivers started together on one new file take turns (a lock file beside it), since two creating the
    schema at once fail with alembic's "table ... already exists"."""
    from mlflow.tracking import MlflowClient

    db = sqlite_path(uri)
    if db is None:
        return MlflowClient(tracking_uri=uri)
    with _file_lock(db.with_name(db.name + ".lock"), SCHEMA_LOCK_TIMEOUT_S):
        return MlflowClient(tracking_uri=uri)


@contextlib.contextmanager
def _file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing, left in place), waited for at most ``timeout_s``."""
    import fcntl

    with open(path, "a") as f:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} stayed locked for {timeout_s:.0f} s") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def experiment_id(uri: str, name: str) -> str:
    """The id of experiment ``name``, created (artifacts beside a SQLite database) if missing."""
    c = client(uri)
    exp = retry(c.get_experiment_by_name, name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            retry(c.restore_experiment, exp.experiment_id)
        return exp.experiment_id
    db = sqlite_path(uri)
    location = (db.parent / "mlartifacts" / name).as_uri() if db is not None else None
    try:
        return retry(c.create_experiment, name, artifact_location=location)
    except Exception:  # noqa: BLE001 - another process created it first
        exp = retry(c.get_experiment_by_name, name)
        if exp is None:
            raise
        return exp.experiment_id
