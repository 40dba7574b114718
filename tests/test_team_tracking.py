"""The team tracking set-up (tests/team_server.py): MLflow's basic-auth server on PostgreSQL, on loopback.

With the credentials MLflow's client reads from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, an experiment,
a run, its params, metrics and an artifact go in and read back; without credentials, or with a wrong password, the
REST API answers 401; ``postgresql+psycopg://`` straight to the database works as a tracking URI and sees what went
through the server; writes that drivers sharing an experiment make alike are not refused when made at once. After
the module no process of the set-up is left.
"""

from __future__ import annotations

import base64
import signal
import threading
import urllib.error
import urllib.request
import uuid

import psycopg
import pytest
from mlflow.entities import Dataset, DatasetInput
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy.engine import make_url

from record.queue import WriteQueue
from tests.team_server import TeamServer, team_server_or_skip

pytestmark = pytest.mark.e2e
TEST_LIMIT_S = 60  # each test; the server's start is bounded by team_server (90 s)
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=10"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    with team_server_or_skip(tmp_path_factory.mktemp("team")) as server:
        yield server


@pytest.fixture(autouse=True)
def bounded(monkeypatch):
    """Each test ends within TEST_LIMIT_S; the client neither retries nor waits long on one request."""
    def expire(signum, frame):
        raise TimeoutError(f"test ran past {TEST_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_LIMIT_S)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                 "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _signed_in(team: TeamServer, monkeypatch) -> MlflowClient:
    for name, value in team.env().items():
        monkeypatch.setenv(name, value)
    return MlflowClient(tracking_uri=team.uri)


def _status(url: str, user: str | None = None, password: str | None = None) -> int:
    """The HTTP status of a GET, with a basic-auth header when ``user`` is given."""
    request = urllib.request.Request(url)
    if user is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=20) as r:
            return r.status
    except urllib.error.HTTPError as e:
        assert e.code != 401 or e.headers.get("WWW-Authenticate", "").startswith("Basic"), e.headers
        return e.code


def test_a_run_logged_with_the_credentials_reads_back(team, monkeypatch, tmp_path):
    client = _signed_in(team, monkeypatch)
    name = f"team-{uuid.uuid4().hex[:8]}"
    exp_id = client.create_experiment(name)
    run = client.create_run(exp_id, run_name="trial-0")
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.001")
    for step, value in enumerate([120.5, 110.25, 105.0]):
        client.log_metric(run_id, "val_nelbo", value, step=step)
    notes = tmp_path / "notes.txt"
    notes.write_text("best trial so far\n")
    client.log_artifact(run_id, str(notes))
    client.set_terminated(run_id)

    got = client.get_run(run_id)
    assert got.info.experiment_id == exp_id and got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.001"}
    assert got.data.metrics == {"val_nelbo": 105.0}
    history = client.get_metric_history(run_id, "val_nelbo")
    assert [(m.step, m.value) for m in history] == [(0, 120.5), (1, 110.25), (2, 105.0)]
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert [a.path for a in client.list_artifacts(run_id)] == ["notes.txt"]
    (tmp_path / "back").mkdir()
    back = client.download_artifacts(run_id, "notes.txt", str(tmp_path / "back"))
    assert open(back).read() == "best trial so far\n"
    assert got.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied by the server, stored where it says
    stored = list(team.artifacts.rglob("notes.txt"))
    assert len(stored) == 1 and run_id in stored[0].parts


@pytest.mark.parametrize("who", ["no credentials", "wrong password", "unknown user"])
def test_the_api_refuses_without_valid_credentials(team, monkeypatch, who):
    user, password = {"no credentials": (None, None), "wrong password": (team.username, team.password + "x"),
                      "unknown user": ("nobody-" + team.username, team.password)}[who]
    assert _status(team.uri + SEARCH, team.username, team.password) == 200  # the same request, signed in
    assert _status(team.uri + SEARCH, user, password) == 401
    if user is not None:  # as MLflow's client sends them
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    with pytest.raises(MlflowException, match="401"):
        MlflowClient(tracking_uri=team.uri).search_experiments()


def test_the_database_uri_works_as_a_tracking_uri(team, monkeypatch):
    through_server = _signed_in(team, monkeypatch)
    name = f"team-db-{uuid.uuid4().hex[:8]}"
    exp_id = through_server.create_experiment(name)
    run_id = through_server.create_run(exp_id).info.run_id
    through_server.log_param(run_id, "beta", "4.0")

    direct = MlflowClient(tracking_uri=team.database_uri)
    assert team.database_uri.startswith("postgresql+psycopg://")
    assert direct.get_experiment_by_name(name).experiment_id == exp_id
    assert direct.get_run(run_id).data.params == {"beta": "4.0"}
    url = make_url(team.database_uri)  # PostgreSQL itself asks for the password over TCP
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password + "x",
                        dbname=url.database, connect_timeout=10).close()


def test_writes_drivers_share_are_not_refused_when_made_at_once(team):
    """The experiment's tags and the dataset, which every driver of a study writes alike: four writers at once, each
    with a write queue of its own (record.queue), none refused. Straight to the database, where PostgreSQL refused
    about half of the new tags without the second try of record.queue.IDEMPOTENT (through the server 1 in 120: too
    rare to test, and each request there costs a password check)."""
    uri = team.database_uri
    setup = MlflowClient(tracking_uri=uri)
    dataset = DatasetInput(Dataset(name="mnist", digest="d1", source_type="local", source='{"uri": "/data"}'))
    queues, refused = [WriteQueue(uri) for _ in range(4)], []
    for _ in range(4):
        exp_id = setup.create_experiment(f"shared-{uuid.uuid4().hex[:8]}")
        runs = [setup.create_run(exp_id).info.run_id for _ in queues]
        start = threading.Barrier(len(queues))

        def driver(q: WriteQueue, run_id: str) -> None:
            start.wait()
            try:
                q.call("set_experiment_tag", exp_id, "metric", "val_nelbo")
            except MlflowException as e:
                refused.append(e)
            q.later(run_id, "log_inputs", [dataset])
            q.flush()

        threads = [threading.Thread(target=driver, args=(q, r)) for q, r in zip(queues, runs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert setup.get_experiment(exp_id).tags["metric"] == "val_nelbo"
        assert all(setup.get_run(r).inputs.dataset_inputs for r in runs)
    for q in queues:
        q.close()
    assert not refused and not [f for q in queues for f in q.failures], (refused, [q.failures for q in queues])
