"""Two drivers started together on one fresh ``mlflow.db``: both complete, with every metric.

Creating MLflow's schema is not safe to do twice at once (alembic's "table ... already exists"); genstudy
takes turns on a lock file beside the database (record.store.client)."""

from __future__ import annotations

import pytest

from record import schema as S
from tests.study_process import children, parents, start, steps

pytestmark = pytest.mark.e2e
# what is under test is the two drivers' start on one new database: little training, and no model published
# (publishing costs a VAE smoke driver about 5 CPU-s; tests/test_vae_e2e.py checks it)
SMALL = ("--set", "train_size=1000", "--set", "eval_size=500", "--no-publish")


def test_two_drivers_on_one_new_database_both_complete(tmp_path, mnist_root):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    procs = []
    for i in range(2):
        args = ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
                "--storage-path", str(tmp_path / f"ray{i}"), "--num-samples", "2", "--max-epochs", "2",
                "--seed", str(i), "--confirm", "0", *SMALL]
        procs.append((start(args, tmp_path / f"driver{i}.log"), tmp_path / f"driver{i}.log"))
    for proc, log in procs:
        assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    assert not (tmp_path / "mlflow.db").with_suffix(".db-journal").exists()
    studies = parents(uri)
    assert len(studies) == 2 and all(p.info.status == "FINISHED" for p in studies)
    runs = children(uri)
    assert len(runs) == 4 and {r.data.tags[S.PARENT_RUN_ID] for r in runs} == {p.info.run_id for p in studies}
    for r in runs:
        assert steps(uri, r.info.run_id, "val_nelbo") == list(range(1, int(r.data.tags[S.REPORTS_RUN]) + 1))
