"""A tracking server that dies mid-study: a real ``mlflow server`` process killed and started again.

Back within the driver's patience, it receives every write, in order, and the study ends 0. Away for
longer, the writes go to a spool on local disk, the study stops with exit code 3 naming it, and
``--resume`` writes them once the server is back and finishes the study: every report once.
"""

from __future__ import annotations

import time

import pytest

from record import schema as S
from record.store import client
from tests.cluster import MlflowServer
from tests.conftest import run_cli
from tests.study_process import children, parents, running_with, start, steps, wait_for

pytestmark = pytest.mark.e2e


def _study(server: MlflowServer, tmp_path, mnist_root) -> list[str]:
    # 500 images a split scored (the smoke profile's 2,000: the writes, not the scores, are checked) and no published
    # model (nothing here reads it, and a failed publication never changes the exit code: study.best.publish)
    return ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", server.uri,
            "--storage-path", str(tmp_path / "ray"), "--max-epochs", "6", "--num-samples", "3",
            "--set", "train_size=8000", "--set", "arch=mlp", "--set", "eval_size=500", "--no-publish"]


def _complete(uri: str) -> None:
    """Every trial's run ended, and holds each of its reports once, 1 .. reports_run."""
    runs = children(uri)
    assert len(runs) == 3
    for r in runs:
        assert r.info.status == "FINISHED", (r.data.tags[S.TRIAL_ID], r.info.status)
        made = steps(uri, r.info.run_id, "val_nelbo")
        assert made == list(range(1, int(r.data.tags[S.REPORTS_RUN]) + 1)), made
    (parent,) = parents(uri)
    assert parent.info.status == "FINISHED" and S.BEST_RUN_ID in parent.data.tags


def test_a_server_back_within_the_patience_receives_everything(tmp_path, mnist_root):
    log = tmp_path / "study.log"
    with MlflowServer(tmp_path) as server:
        proc = start(_study(server, tmp_path, mnist_root), log, env={"GENSTUDY_MLFLOW_PATIENCE_S": "180"})
        wait_for(lambda: running_with(server.uri, 1), proc, 300, log)
        server.stop()
        time.sleep(10)  # trials go on reporting (a report every second or two); their writes queue in order
        server.start()
        assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
        _complete(server.uri)


def test_a_server_away_too_long_spools_and_resume_writes_it(tmp_path, mnist_root):
    log = tmp_path / "study.log"
    with MlflowServer(tmp_path) as server:
        proc = start(_study(server, tmp_path, mnist_root), log, env={"GENSTUDY_MLFLOW_PATIENCE_S": "5"})
        wait_for(lambda: running_with(server.uri, 1), proc, 300, log)
        server.stop()
        assert proc.wait(timeout=900) == 3, log.read_text()[-3000:]
        last = log.read_text().strip().splitlines()[-1]
        assert "writes are kept in" in last and "mlflow_spool" in last and "--resume" in last
        spool = next((tmp_path / "ray").glob("*/mlflow_spool"))
        assert any(spool.glob("writes-*.jsonl"))
        server.start()
        p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", str(tmp_path / "ray"), timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        assert "MLflow writes kept while the tracking store did not answer are written" in p.stdout
        assert not spool.exists()
        _complete(server.uri)
        assert client(server.uri).get_run(parents(server.uri)[0].info.run_id).info.status == "FINISHED"
