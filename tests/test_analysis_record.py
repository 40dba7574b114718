"""Reading a study from MLflow on a hand-made record: a parent, a trial, and the driver's optional ``rejected.json``."""

import json

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from analysis import leaderboard
from analysis.record import load
from tests.conftest import new_sqlite


def test_record_reads_a_hand_made_study_with_rejected_configs(tmp_path):
    """A parent with one trial and the driver's optional ``rejected.json``: the over-cap config is a leaderboard row."""
    uri = new_sqlite(tmp_path)
    client = MlflowClient(uri)
    exp = client.create_experiment("vae_beta_sweep", artifact_location=(tmp_path / "art").as_uri())
    parent = client.create_run(exp, tags={"role": "study"}).info.run_id
    client.log_batch(parent, params=[Param("metric", "test_nelbo"), Param("mode", "min"), Param("fixed.dataset", "mnist")])
    child = client.create_run(exp, tags={"mlflow.parentRunId": parent, "trial_id": "a1", "status": "finished",
                                         "epochs_run": "2"}).info.run_id
    client.log_batch(child, metrics=[Metric("test_nelbo", v, 0, s) for s, v in ((1, 150.0), (2, 120.0))],
                     params=[Param("beta", "1.0"), Param("width", "64"), Param("dataset", "mnist")])
    (tmp_path / "rejected.json").write_text(json.dumps([{"config": {"beta": "2.0", "width": "8192"},
                                                         "n_params": 30_000_000}]))
    client.log_artifact(parent, str(tmp_path / "rejected.json"))
    record = load("vae_beta_sweep", uri)
    df = leaderboard.build(record).set_index("trial_id")
    assert df.loc["a1", "test_nelbo_best"] == 120.0 and df.loc["a1", "rank"] == 1
    # recorded before the validation split: it still exports, and every row says it was ranked on a test metric
    assert record.selected_on_test and record.test_metric == "test_nelbo"
    assert set(df["selected_on"]) == {"test (recorded before the validation split)"}
    assert "test_nelbo_at_best" not in df.columns
    row = df.loc["rejected-1"]
    assert row["status"] == "rejected_cap" and row["n_params"] == 30_000_000 and row["width"] == 8192
    assert row["status_detail"] == "rejected by the parameter cap" and "over the parameter cap" in row["error"]


def test_a_study_recorded_before_the_validation_split_still_exports(tmp_path, mnist_root):
    """Its record names a test metric: the export writes everything it can and says selection used the test set."""
    from analysis.export import main

    uri = new_sqlite(tmp_path)
    client = MlflowClient(uri)
    exp = client.create_experiment("gan_loss_sweep", artifact_location=(tmp_path / "art").as_uri())
    parent = client.create_run(exp, tags={"role": "study"}).info.run_id
    client.log_batch(parent, params=[Param("metric", "fid"), Param("mode", "min"), Param("max_t", "2")])
    for trial, values in (("a", (90.0, 40.0)), ("b", (80.0, 60.0))):
        child = client.create_run(exp, tags={"mlflow.parentRunId": parent, "trial_id": trial, "status": "finished",
                                             "epochs_run": "2"}).info.run_id
        client.log_batch(child, metrics=[Metric("fid", v, 0, s) for s, v in enumerate(values, start=1)],
                         params=[Param("loss", "bce"), Param("dataset", "mnist")])
    out = tmp_path / "export"
    assert main(["gan_loss_sweep", "--tracking-uri", uri, "--out", str(out), "--data-root", str(mnist_root),
                 "--quiet"]) == 0
    board = (out / "leaderboard.csv").read_text()
    assert "test (recorded before the validation split)" in board and "fid_best" in board
    page = (out / "report.html").read_text()
    assert "Selected on the test set" in page and "fid is a test-set metric" in page
