"""Eight concurrent trials reporting every 0.1 s into the embedded SQLite store lose no metric."""

import time

import pytest
import ray
from mlflow.tracking import MlflowClient
from ray import tune

from record import store as mlflow_store
from study.mlflow_callback import MLflowTrialLogger
from tests.conftest import REPO, new_sqlite

pytestmark = pytest.mark.e2e
N_TRIALS, N_REPORTS = 8, 40


def chatty_trial(config):
    for i in range(1, N_REPORTS + 1):
        time.sleep(0.1)
        tune.report({"test_nelbo": config["x"] * 1000 + i, "test_kl": float(i), "epoch": i})


def test_eight_concurrent_trials_every_metric_arrives(tmp_path):
    uri = new_sqlite(tmp_path)
    exp_id = mlflow_store.experiment_id(uri, "concurrency")
    client = MlflowClient(uri)
    parent = client.create_run(exp_id, tags={"role": "study"}).info.run_id
    logger = MLflowTrialLogger(uri, exp_id, parent, "concurrency", "test_nelbo", "min", N_REPORTS,
                               str(tmp_path / "staging"))
    # the workers import this module as tests.test_mlflow_concurrency. A private node ("local"), as the driver starts
    # one: without an address, ray.init joins whatever cluster /tmp/ray/ray_current_cluster names, e.g. the scale
    # benchmark's ray.cluster_utils.Cluster in another test worker, and then refuses num_cpus (seen in CI)
    ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    try:
        tuner = tune.Tuner(
            tune.with_resources(chatty_trial, {"cpu": 0.25}),
            param_space={"x": tune.grid_search(list(range(N_TRIALS)))},
            tune_config=tune.TuneConfig(max_concurrent_trials=N_TRIALS),
            run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), callbacks=[logger], verbose=0))
        results = tuner.fit()
    finally:
        ray.shutdown()
    logger.writer.close()
    assert not results.errors
    children = client.search_runs([exp_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert len(children) == N_TRIALS
    for run in children:
        x = int(run.data.params["x"])
        for key in ("test_nelbo", "test_kl", "epoch"):
            history = client.get_metric_history(run.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(1, N_REPORTS + 1)), key
        assert sorted(m.value for m in client.get_metric_history(run.info.run_id, "test_nelbo")) == \
            [x * 1000 + i for i in range(1, N_REPORTS + 1)]
        assert run.info.status == "FINISHED"
    assert logger.writer.failures == []
