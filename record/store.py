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
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from record.errors import RecordUnavailable, UsageError

T = TypeVar("T")
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
SQLITE_LOCKED = ("database is locked", "database table is locked")  # SQLite's busy errors, which pass
RETRY_HTTP_STATUS = (429, 503)  # too many requests, unavailable: a server asking the client to come back
SQL_SERVERS = ("postgresql", "mysql", "mssql")  # MLflow's SQLAlchemy stores besides SQLite
# SQLAlchemy's driver module -> how to install it
DRIVERS = {"psycopg": "pip install 'genstudy[postgres]'",
           "psycopg2": "pip install psycopg2-binary, or write postgresql+psycopg:// and "
                       "pip install 'genstudy[postgres]'",
           "mysqldb": "pip install mysqlclient, or write mysql+pymysql:// and pip install pymysql",
           "pymysql": "pip install pymysql", "pyodbc": "pip install pyodbc (and an ODBC driver for SQL Server)",
           "pymssql": "pip install pymssql"}
# connecting is quick or never; answering may not be: a basic-auth server on a loaded machine took 5-12 s to
# answer an authorised search (measured), and a slow server is not bad input
SERVER_ANSWER_S = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"
CREDENTIALS = ("set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN "
               "(bearer) to an account of that server")


def tracking_uri(cli_value: str | None) -> str:
    """``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``."""
    return cli_value or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def shown_uri(uri: str) -> str:
    """``uri`` as genstudy prints it: a password in it (``postgresql://USER:PASSWORD@HOST/DB``) shown as ``***``."""
    return _with_password(uri, "***")


def without_password(uri: str) -> str:
    """``uri`` as genstudy writes it to disk (the resume record): ``postgresql://USER@HOST/DB``, its password left
    out; the driver that resumes takes it from its own ``--tracking-uri`` or the database client's environment
    (``PGPASSWORD``, ``~/.pgpass``)."""
    return _with_password(uri, None)


def _with_password(uri: str, password: str | None) -> str:
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(uri)
        if not parts.password:
            return uri
    except ValueError:  # a malformed address (an unclosed [IPv6 bracket): kept as given
        return uri
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if password is None else f"{user}:{password}@{host}"))


def is_database_server(uri: str) -> bool:
    """``uri`` names a database server MLflow stores runs in (``postgresql+psycopg://...``, ``mysql://...``)."""
    return uri.split(":", 1)[0].split("+", 1)[0] in SQL_SERVERS


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative to the working directory), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):]).expanduser().resolve()


def preflight(uri: str, timeout_s: float = 8.0) -> None:
    """Fail fast (UsageError) when ``uri`` cannot be written to or reached: a file store, a scheme MLflow
    has no store for, a SQLite path that is no database, a server that refuses (or lacks) the credentials
    MLflow's client sends, a database whose driver is missing or that does not answer. Creates nothing.

    ``timeout_s`` bounds connecting to a server or database; a server that accepted gets :data:`SERVER_ANSWER_S`.
    """
    _check_local(uri)
    if sqlite_path(uri) is not None:  # a scheme MLflow always has a store for: no MLflow import (seconds) to ask
        return
    _check_scheme(uri)
    if uri.startswith(("http://", "https://")):
        _check_server(uri, timeout_s)
    elif is_database_server(uri):
        _check_database(uri, timeout_s)


def _check_local(uri: str) -> None:
    """Refuse (UsageError) what is wrong with ``uri`` without asking MLflow or the network (imports nothing): a file
    store, no URI at all, a SQLite path that is no writable database."""
    if uri.startswith("file:") or (("://" not in uri) and uri.rstrip("/").endswith("mlruns")):
        raise UsageError(f"tracking URI {uri!r} is a file store, which MLflow 3.13+ refuses; "
                         "fix: use --tracking-uri sqlite:///mlflow.db or an http:// server")
    if "://" not in uri and uri != "databricks":
        raise UsageError(f"tracking URI {uri!r} is not a URI; fix: e.g. sqlite:///mlflow.db or http://127.0.0.1:5000")
    db = sqlite_path(uri)
    if db is not None:
        _check_sqlite(uri, db)


def _check_scheme(uri: str) -> None:
    """A scheme MLflow's tracking store registry (plugins included) has a store for."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry
    from mlflow.utils.uri import get_uri_scheme

    try:
        scheme = uri if uri == "databricks" else get_uri_scheme(uri)
    except Exception:  # noqa: BLE001 - MlflowException: postgresql+a+b://
        scheme = None
    known = sorted(k for k in _tracking_store_registry._registry if k not in ("", "file", "uc", "databricks-uc"))
    if scheme not in known:  # file: refused above; uc, databricks-uc: model registries MLflow refuses for tracking
        raise UsageError(f"tracking URI {uri!r}: MLflow has no tracking store for that scheme; "
                         f"fix: use one of {', '.join(known)} (e.g. sqlite:///mlflow.db)")


def _check_sqlite(uri: str, db: Path) -> None:
    if not db.parent.is_dir() or not os.access(db.parent, os.W_OK):
        raise UsageError(f"tracking URI {uri!r}: folder {db.parent} does not exist or is not writable; "
                         "fix: create it or choose another --tracking-uri")
    if db.is_dir():
        raise UsageError(f"tracking URI {uri!r}: {db} is a folder; fix: name a database file, e.g. {db}/mlflow.db")
    if db.is_file():
        with open(db, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
        if head and head != SQLITE_HEADER:  # an empty file is a database SQLite will fill
            raise UsageError(f"tracking URI {uri!r}: {db} is not a SQLite database; fix: point "
                             "--tracking-uri at a new file or at an MLflow database")
        if not os.access(db, os.W_OK):
            raise UsageError(f"tracking URI {uri!r}: {db} is read-only; fix: make it writable or choose another file")


def _check_server(uri: str, timeout_s: float) -> None:
    """One request as MLflow's client makes it (its credentials, TLS settings and headers, from the
    MLFLOW_TRACKING_* variables or ~/.mlflow/credentials; mlflow.utils.rest_utils.http_request), no retries."""
    import warnings

    import requests
    from mlflow.exceptions import MlflowException
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:
        creds = get_default_host_creds(uri)
        with warnings.catch_warnings():  # urllib3's InsecureRequestWarning when MLFLOW_TRACKING_INSECURE_TLS is set
            warnings.simplefilter("ignore")
            resp = http_request(creds, "/api/2.0/mlflow/experiments/search", "GET", max_retries=0, backoff_factor=0,
                                timeout=(timeout_s, max(timeout_s, SERVER_ANSWER_S)), raise_on_status=False,
                                params={"max_results": 1}, extra_headers={"Connection": "close"})  # a one-off
    except MlflowException as e:
        cause = next((c for c in _chain(e) if isinstance(c, requests.RequestException)), None)
        if isinstance(cause, requests.exceptions.SSLError):
            raise UsageError(f"tracking URI {uri!r}: TLS verification failed; fix: set "
                             "MLFLOW_TRACKING_SERVER_CERT_PATH to the server's CA bundle (or "
                             "MLFLOW_TRACKING_INSECURE_TLS=true to skip the check)") from None
        if cause is None and "server_cert_path" in str(e):  # both TLS variables set
            raise UsageError("MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set; "
                             "fix: unset one of them") from None
        reason = "no answer in {:g} s".format(timeout_s) if isinstance(cause, requests.Timeout) else _reason(cause or e)
        raise UsageError(f"tracking URI {uri!r} is unreachable ({reason}); "
                         "fix: start the server (see docs/clusters.md) or pass another --tracking-uri") from None
    if resp.status_code in (401, 403):
        if creds.username and creds.password:
            sent = f"it refused those of MLFLOW_TRACKING_USERNAME={creds.username}"
        else:
            sent = "it refused MLFLOW_TRACKING_TOKEN" if creds.token else "none were sent"
        raise UsageError(f"tracking URI {uri!r} answered HTTP {resp.status_code}: it needs credentials and {sent}; "
                         f"fix: {CREDENTIALS}")
    if resp.status_code != 200:
        raise UsageError(f"tracking URI {uri!r} answered HTTP {resp.status_code}: not an MLflow server? "
                         "fix: check the address, or start one with `mlflow server`")


def _reason(e: BaseException) -> str:
    """The innermost OS-level reason of a connection error ("Connection refused"), else the error's first line."""
    for err in _chain(e):
        if isinstance(err, OSError) and err.strerror:
            return err.strerror
    return str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__


def _check_database(uri: str, timeout_s: float) -> None:
    """The SQLAlchemy driver of a postgresql / mysql / mssql URI is importable, and the database answers."""
    import sqlalchemy
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(uri)
        dialect = url.get_dialect()
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ValueError) as e:
        raise UsageError(f"tracking URI {uri!r} is not a database URI SQLAlchemy reads ({e}); "
                         "fix: e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE") from None
    shown = shown_uri(uri)
    try:
        dialect.import_dbapi()
    except ImportError as e:
        module = dialect.driver
        install = DRIVERS.get(module, f"pip install {module}")
        raise UsageError(f"tracking URI {shown!r} needs the {url.get_backend_name()} driver {module} "
                         f"({e.name or module} cannot be imported); fix: {install}") from None
    timeout = max(2, int(timeout_s))
    connect_args = {"pyodbc": {"timeout": timeout}, "pymssql": {"login_timeout": timeout}}.get(
        dialect.driver, {"connect_timeout": timeout})
    engine = sqlalchemy.create_engine(url, connect_args=connect_args, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as e:
        reason = str(e.orig or e).strip().splitlines()[0][:300]
        raise UsageError(f"tracking URI {shown!r}: cannot connect to the database ({reason}); fix: start it, or "
                         "correct the host, port, user, password or database name in the URI") from None
    finally:
        engine.dispose()


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
