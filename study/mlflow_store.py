"""MLflow access for the driver: preflight, experiment, retrying client.

All MLflow writes of a study happen in the driver process, one at a time: trials send their
metrics through Ray, so many trials never write to one SQLite file at once. Writes still retry
on "database is locked", for studies that share a database.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, TypeVar

from study.errors import UsageError

T = TypeVar("T")
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
RETRYABLE = ("database is locked", "database table is locked", "connection", "timed out", "503", "429")


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


def retry(fn: Callable[..., T], *args: Any, attempts: int = 10, **kwargs: Any) -> T:
    """Call ``fn`` and retry transient store errors with exponential back-off (0.05 s .. ~25 s)."""
    for i in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - MLflow wraps SQLAlchemy and HTTP errors in several types
            if i == attempts - 1 or not any(s in str(e).lower() for s in RETRYABLE):
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
