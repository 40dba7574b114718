"""The MLflow store a study is recorded in: its URI, a fail-fast check, the client, and retrying.

All MLflow writes of a study happen in the driver process, one at a time: trials send their
metrics through Ray, so many trials never write to one SQLite file at once. Writes still retry
on the errors that pass (see :func:`is_transient`), for studies that share a database or a server.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, TypeVar

from record.errors import UsageError

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


def retry(fn: Callable[..., T], *args: Any, attempts: int = 10, **kwargs: Any) -> T:
    """Call ``fn`` and retry transient store errors (:func:`is_transient`) with exponential back-off
    (0.05 s .. ~25 s); any other error is raised at once."""
    for i in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - MLflow wraps SQLAlchemy and HTTP errors in several types
            if i == attempts - 1 or not is_transient(e):
                raise
            time.sleep(0.05 * 2**i)
    raise AssertionError("unreachable")


def client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


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
