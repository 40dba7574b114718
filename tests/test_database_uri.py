"""A driver given a database itself as its tracking URI (record.artifact_location, record.store.shown_uri): it
refuses, before Ray, a study whose experiment a tracking server keeps the artifacts of, prints the URI with its
password hidden, and writes it to the resume record without the password (study.invocation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from record import artifact_location
from record.errors import UsageError
from record.store import shown_uri
from study import invocation
from study.cli import build_parser
from tests.conftest import new_sqlite

SERVED, LOCAL = "vae_beta_sweep", "ae_latent_sweep"


def test_an_experiment_whose_artifacts_a_server_keeps_is_refused(tmp_path):
    uri = new_sqlite(tmp_path, "mlflow.db")  # a server's own database, as `mlflow server` leaves it
    client = MlflowClient(uri)
    client.create_experiment(SERVED, artifact_location="mlflow-artifacts:/1")
    client.create_experiment(LOCAL, artifact_location=(tmp_path / "artifacts").as_uri())
    with pytest.raises(UsageError, match=r"'vae_beta_sweep' keeps its artifacts on a tracking server "
                                         r"\(mlflow-artifacts:/1\).*fix: pass the server's http:// address"):
        artifact_location.check(uri, SERVED)
    artifact_location.check(uri, LOCAL)  # artifacts this driver writes itself
    artifact_location.check(uri, "gan_loss_sweep")  # no experiment yet: the study makes it


def test_a_new_database_file_and_a_server_are_not_opened(tmp_path):
    artifact_location.check(f"sqlite:///{tmp_path}/new.db", SERVED)
    assert not (tmp_path / "new.db").exists()
    artifact_location.check("http://127.0.0.1:9", SERVED)  # nothing listens there: a server URI is not checked


@pytest.mark.parametrize("uri,shown", [
    ("postgresql+psycopg://genstudy:pg-s3cret@127.0.0.1:5433/mlflow",
     "postgresql+psycopg://genstudy:***@127.0.0.1:5433/mlflow"),
    ("mysql+pymysql://me:p%40ss@db.example:3306/mlflow?charset=utf8",
     "mysql+pymysql://me:***@db.example:3306/mlflow?charset=utf8"),
    ("postgresql://genstudy@127.0.0.1/mlflow", "postgresql://genstudy@127.0.0.1/mlflow"),  # no password to hide
    ("sqlite:////srv/mlflow/mlflow.db", "sqlite:////srv/mlflow/mlflow.db"),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
])
def test_a_printed_uri_hides_its_password(uri, shown):
    assert shown_uri(uri) == shown


PG = "postgresql+psycopg://genstudy:pg-s3cret@127.0.0.1:5433/mlflow"


def test_the_resume_record_keeps_no_password_and_resume_takes_it_from_the_command_line(tmp_path, monkeypatch):
    """The record sits in the storage path (shared folders, object stores): the URI is saved without its
    password; ``--resume --tracking-uri`` with the same database supplies it, and another URI does not replace
    the recorded one."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = build_parser().parse_args(["vae_beta_sweep", "--tracking-uri", PG])
    invocation.save(str(tmp_path), args, "parent", "1", PG, Path("/data"), "val_nelbo")
    text = (tmp_path / invocation.RECORD_FILE).read_text()
    assert "pg-s3cret" not in text
    record = json.loads(text)
    assert record["tracking_uri"] == "postgresql+psycopg://genstudy@127.0.0.1:5433/mlflow"
    for given, used in ((["--tracking-uri", PG], PG), ([], record["tracking_uri"]),
                        (["--tracking-uri", "sqlite:///other.db"], record["tracking_uri"])):
        resumed = build_parser().parse_args(["vae_beta_sweep", "--resume", *given])
        invocation.apply(resumed, record)
        assert resumed.tracking_uri == used, given
    monkeypatch.setenv("MLFLOW_TRACKING_URI", PG)  # the password from the environment's URI
    resumed = build_parser().parse_args(["vae_beta_sweep", "--resume"])
    invocation.apply(resumed, record)
    assert resumed.tracking_uri == PG
