"""A team's set-up end to end (docs/team_tracking.md): MLflow's basic-auth server on PostgreSQL
(tests/team_server.py) and a Ray cluster of two nodes on loopback (tests/cluster.py), both started once for the
module.

Two drivers of one study start at once, from two shells that hold the credentials as MLflow's client reads them
(MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD); both finish, their trials ran on both nodes and every report
is in the record once; the export reads one of the two studies back through the server. Then a driver given the
database itself: it refuses, before Ray, the study whose artifacts the server keeps, and runs another study whose
runs the server shows. After the module neither the server, PostgreSQL nor the Ray head is left running.
"""

from __future__ import annotations

import re
import socket

import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from record import schema as S
from record.store import client
from tests.cluster import HEAD_IP, NODE_IP, RayCluster
from tests.conftest import run_cli
from tests.study_process import children, parents, start, steps
from tests.team_server import team_server_or_skip
from trainables.checkpoint import MODEL_FILE

pytestmark = pytest.mark.e2e
STUDY, DB_STUDY = "vae_beta_sweep", "ae_latent_sweep"  # DB_STUDY: a study whose experiment the database driver makes
# the smoke profile, smaller: 1,000 training and 500 scoring images, two trials of at most two epochs
SMALL = ("--profile", "smoke", "--num-samples", "2", "--max-epochs", "2", "--confirm", "0", "--set", "train_size=1000",
         "--set", "eval_size=500")
EXPORT_ARGS = ("--tsne-points", "100", "--svm-train-size", "500")  # the export's slow steps, small
RAY = {"RAY_AUTH_MODE": "disabled"}  # the loopback cluster runs without Ray's token (tests/cluster.py)
DRIVER_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    with team_server_or_skip(tmp_path_factory.mktemp("team")) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(team, tmp_path_factory):
    with RayCluster(tmp_path_factory.mktemp("ray")) as ray_cluster:
        yield ray_cluster
    with pytest.raises(OSError):  # the head no longer listens
        socket.create_connection((HEAD_IP, ray_cluster.port), timeout=2).close()


@pytest.fixture(autouse=True)
def signed_in(team, monkeypatch):
    """This test's own reads go to the server with the credentials, as the drivers' do."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in team.env().items():
        monkeypatch.setenv(name, value)


def test_two_drivers_at_once_on_two_nodes_then_the_export(team, cluster, tmp_path, mnist_root):
    drivers = []
    for seed in (0, 1):  # the second publishes no model: the first's shows publishing through the server works
        log = tmp_path / f"driver{seed}.log"
        args = [STUDY, *SMALL, "--seed", str(seed), "--address", cluster.address, "--tracking-uri", team.uri,
                "--storage-path", str(tmp_path / f"ray{seed}"), "--data-root", str(mnist_root),
                *(["--no-publish"] if seed else [])]
        drivers.append((start(args, log, env={**RAY, **team.env()}), log))
    for proc, log in drivers:
        assert proc.wait(timeout=DRIVER_TIMEOUT_S) == 0, log.read_text()[-3000:]

    studies = parents(team.uri)
    assert len(studies) == 2 and all(p.info.status == "FINISHED" for p in studies)
    runs = children(team.uri)
    assert len(runs) == 4 and {r.data.tags[S.PARENT_RUN_ID] for r in runs} == {p.info.run_id for p in studies}
    assert {r.data.tags[S.NODE_IP] for r in runs} == {HEAD_IP, NODE_IP}, "the trials did not run on both nodes"
    assert len({r.data.tags[S.NODE_ID] for r in runs}) == 2
    for r in runs:
        reports = list(range(1, int(r.data.tags[S.REPORTS_RUN]) + 1))
        assert r.info.status == "FINISHED" and reports
        for metric in ("val_nelbo", "test_nelbo"):
            assert steps(team.uri, r.info.run_id, metric) == reports, (r.info.run_id, metric)
    for p in studies:  # the best trial's checkpoint went through the server into its artifacts folder
        best = p.data.tags[S.BEST_RUN_ID]
        assert MODEL_FILE in {a.path for a in client(team.uri).list_artifacts(best)}
        assert any(best in f.parts for f in team.artifacts.rglob(MODEL_FILE))

    parent = re.search(r"^MLflow: .* parent run (\w+)", drivers[0][1].read_text(), re.M).group(1)  # as printed
    out = tmp_path / "export"
    exported = run_cli("analysis.export", STUDY, "--tracking-uri", team.uri, "--run", parent, "--out", str(out),
                       "--data-root", str(mnist_root), *EXPORT_ARGS, env=team.env())
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert f"parent run {parent}, 2 trials" in exported.stderr
    assert len(pd.read_csv(out / "leaderboard.csv")) == 2  # that study's trials, not the other driver's
    assert (out / "report.html").stat().st_size > 0


def test_a_driver_on_the_database_itself(team, cluster, tmp_path, mnist_root):
    server = client(team.uri)
    if server.get_experiment_by_name(STUDY) is None:  # this test alone: the experiment the server makes
        server.create_experiment(STUDY)
    assert server.get_experiment_by_name(STUDY).artifact_location.startswith("mlflow-artifacts:")
    password = make_url(team.database_uri).password
    common = ["--address", cluster.address, "--tracking-uri", team.database_uri, "--data-root", str(mnist_root)]

    refused = run_cli("study.run", STUDY, *SMALL, *common, "--storage-path", str(tmp_path / "refused"), env=RAY)
    assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
    error = refused.stderr.strip().splitlines()[-1]  # after MLflow's own set-up lines for a database
    assert error.startswith("study.run: error: tracking URI 'postgresql+psycopg://genstudy:***@")
    assert "keeps its artifacts on a tracking server (mlflow-artifacts:/" in error and "fix:" in error
    assert not (tmp_path / "refused").exists()  # refused before the study started

    ran = run_cli("study.run", DB_STUDY, *SMALL, "--num-samples", "1", "--no-publish", *common,
                  "--storage-path", str(tmp_path / "ray"), cwd=tmp_path, env=RAY)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert password not in ran.stdout + ran.stderr + refused.stderr  # printed as ***
    exp = server.get_experiment_by_name(DB_STUDY)  # through the server, as a member sees it
    assert str(tmp_path / "mlruns") in exp.artifact_location  # MLflow's default: ./mlruns of the driver
    studies = parents(team.uri, DB_STUDY)
    assert len(studies) == 1 and studies[0].info.status == "FINISHED"
    runs = children(team.uri, DB_STUDY)
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    for r in runs:
        reports = list(range(1, int(r.data.tags[S.REPORTS_RUN]) + 1))
        assert steps(team.uri, r.info.run_id, "val_recon") == reports


def test_the_scale_benchmark_reads_the_same_record_from_postgresql(team):
    """benchmarks/scale_stores.py's reader of the team set-up's database, and the scale benchmark's queries on it:
    the reports and trials the server shows (this module's studies, whichever of its tests ran)."""
    from benchmarks import scale, scale_stores

    runs = [r for name in (STUDY, DB_STUDY) for r in children(team.uri, name)]
    if not runs:
        pytest.skip("no study of this module ran")
    left = scale._left(scale_stores._postgres_reader(team.database_uri), metric="val_recon")
    assert left["trials"] == len(runs)
    assert left["reports"] == sum(len(steps(team.uri, r.info.run_id, "val_recon")) for r in runs)
    assert left["store_rows"] > left["reports"] and left["span_s"] > 0
