"""Which MLflow errors are retried: SQLite's lock and HTTP 429/503, judged by type and status, never by digits."""

from __future__ import annotations

import sqlite3

import pytest
import requests
import sqlalchemy
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE
from mlflow.utils.rest_utils import verify_rest_response

from record import store as mlflow_store


def _calls(error: Exception, monkeypatch, fail_times: int = 2) -> tuple[int, object]:
    """Call a function that raises ``error`` ``fail_times`` times and then succeeds; (calls, outcome)."""
    monkeypatch.setattr(mlflow_store.time, "sleep", lambda s: None)
    monkeypatch.setenv(mlflow_store.PATIENCE_ENV, "0")  # an unreachable store (a 500) is not waited for here
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= fail_times:
            raise error
        return "ok"

    try:
        outcome = mlflow_store.retry(fn)
    except Exception as e:  # noqa: BLE001
        outcome = e
    return len(calls), outcome


def _sqlalchemy_error(tmp_path, statement: str, lock: bool) -> MlflowException:
    """A real SQLite error raised through SQLAlchemy, wrapped as MLflow's session maker wraps it."""
    db = tmp_path / "m.db"
    holder = sqlite3.connect(db, timeout=0, isolation_level=None)
    holder.execute("create table if not exists t (x int)")
    if lock:
        holder.execute("begin exclusive")
    engine = sqlalchemy.create_engine(f"sqlite:///{db}", connect_args={"timeout": 0})
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(statement))
    except sqlalchemy.exc.OperationalError as e:
        try:
            raise MlflowException(message=e, error_code=TEMPORARILY_UNAVAILABLE) from e
        except MlflowException as wrapped:
            return wrapped
    finally:
        holder.close()
        engine.dispose()
    raise AssertionError("no error raised")


def test_an_error_naming_a_run_id_with_503_or_429_is_not_retried(monkeypatch):
    error = MlflowException("Run '5031429a0connection' not found; timed out", error_code=INVALID_PARAMETER_VALUE)
    n, outcome = _calls(error, monkeypatch)
    assert n == 1 and outcome is error


def test_a_real_sqlite_lock_is_retried(tmp_path, monkeypatch):
    error = _sqlalchemy_error(tmp_path, "insert into t values (1)", lock=True)
    assert "database is locked" in str(error)
    n, outcome = _calls(error, monkeypatch)
    assert (n, outcome) == (3, "ok")


def test_another_sqlite_error_is_not_retried_though_mlflow_calls_it_503(tmp_path, monkeypatch):
    error = _sqlalchemy_error(tmp_path, "insert into missing_table values (1)", lock=False)
    assert error.get_http_status_code() == 503  # how MLflow labels every OperationalError
    n, _ = _calls(error, monkeypatch)
    assert n == 1


@pytest.mark.parametrize("code", ["TEMPORARILY_UNAVAILABLE", "RESOURCE_EXHAUSTED"])
def test_server_busy_json_answers_are_retried(code, monkeypatch):
    n, outcome = _calls(RestException({"error_code": code, "message": "busy"}), monkeypatch)
    assert (n, outcome) == (3, "ok")


@pytest.mark.parametrize("status, retried", [(503, True), (429, True), (404, False), (500, False)])
def test_plain_http_answers_are_retried_by_status(status, retried, monkeypatch):
    response = requests.Response()
    response.status_code, response._content = status, b"<html>proxy says no</html>"
    with pytest.raises(MlflowException) as info:
        verify_rest_response(response, "/api/2.0/mlflow/runs/get")  # how MLflow reports a non-JSON answer
    n, _ = _calls(info.value, monkeypatch)
    assert n == (3 if retried else 1)


def test_the_last_attempt_raises(monkeypatch):
    error = RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})
    n, outcome = _calls(error, monkeypatch, fail_times=100)
    assert n == 10 and outcome is error
