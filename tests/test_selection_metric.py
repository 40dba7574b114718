"""Validation-only selection, piece by piece and fast: every place a study's decision reads its metric reads
the validation metric, never its test counterpart. (``test_validation_split.py`` proves the same end to end
with two real studies; these tests name the piece that broke.)

Pieces: the searcher (Optuna's values), the scheduler (ASHA's rungs) and Tune's checkpoint ranking (all
three in ``study.tuner``), the checkpoint a trial keeps and publishes (``study.mlflow_callback``), each trial's
best report and the study's best trial (``record.reader.outcomes``, ``study.best.finish``), and the
``Study`` record itself, which refuses a test metric.
"""

import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from record.store import client as mlflow_client
from record.writer import Writer
from search_spaces import Study
from study import best as study_best
from study import tuner
from study.mlflow_callback import MLflowTrialLogger
from study.resolve import resolve
from tests.conftest import new_sqlite
from trainables.checkpoint import CONFIG_FILE, MODEL_FILE


def test_the_searcher_scheduler_and_tunes_checkpoints_read_the_validation_metric(monkeypatch, tmp_path):
    r = resolve("vae_beta_sweep", "smoke", [])
    assert (r.study.metric, r.study.test_metric) == ("val_nelbo", "test_nelbo")
    monkeypatch.setattr(tuner, "make_trainable", lambda *a, **k: "trainable")  # no Ray object store
    monkeypatch.setattr(tuner.tune, "Tuner", lambda trainable, **kw: kw)  # what the Tuner would be built with
    searcher = tuner.make_searcher(r)
    kw = tuner.build_tuner(r, None, {}, searcher, tuner.Resources(1, 0), str(tmp_path), "s", [])
    assert searcher.metric == "val_nelbo" and searcher.mode == "min"
    assert (kw["tune_config"].metric, kw["tune_config"].mode) == ("val_nelbo", "min")  # ASHA reads Tune's metric
    assert type(kw["tune_config"].scheduler).__name__ == "AsyncHyperBandScheduler"
    assert kw["run_config"].checkpoint_config.checkpoint_score_attribute == "val_nelbo"


class _Writer:
    """The logger's MLflow writer, doing nothing (no checkpoint here holds an image to log)."""

    def image(self, *args, **kwargs):
        pass


def _checkpoint(folder: Path, epoch: int, val: float, test: float) -> SimpleNamespace:
    folder.mkdir()
    (folder / CONFIG_FILE).write_text(json.dumps({"report": epoch, "metrics": {"val_nelbo": val, "test_nelbo": test}}))
    (folder / MODEL_FILE).write_text(f"weights of report {epoch}")

    @contextmanager
    def as_directory():
        yield str(folder)

    return SimpleNamespace(as_directory=as_directory)


def test_the_kept_checkpoint_is_the_best_on_validation(tmp_path):
    logger = MLflowTrialLogger("sqlite:///unused.db", "1", "parent", "vae_beta_sweep", "val_nelbo", "min", 3,
                               str(tmp_path / "staging"))
    logger._writer = _Writer()
    logger.runs["t1"] = "run-1"
    trial = SimpleNamespace(trial_id="t1")
    # report 2 is the best on validation; reports 1 and 3 are better on test
    for epoch, val, test in ((1, 120.0, 80.0), (2, 100.0, 130.0), (3, 110.0, 70.0)):
        logger.on_checkpoint(0, [], trial, _checkpoint(tmp_path / f"r{epoch}", epoch, val, test))
    assert logger.best["t1"] == 100.0
    assert (tmp_path / "staging" / "t1" / MODEL_FILE).read_text() == "weights of report 2"


def test_the_best_trial_is_chosen_on_validation(tmp_path, monkeypatch):
    uri = new_sqlite(tmp_path)
    client = mlflow_client(uri)
    exp_id = client.create_experiment("vae_beta_sweep")
    parent = client.create_run(exp_id, tags={"role": "study"}).info.run_id
    # trial a is best on validation (100 at report 2, where its test value is 130); b is best on test
    histories = {"a": {"val_nelbo": [120.0, 100.0], "test_nelbo": [90.0, 130.0]},
                 "b": {"val_nelbo": [110.0, 105.0], "test_nelbo": [80.0, 85.0]}}
    for trial, metrics in histories.items():
        run = client.create_run(exp_id, tags={"mlflow.parentRunId": parent, "trial_id": trial, "status": "finished",
                                              "epochs_run": "2"}).info.run_id
        client.log_param(run, "beta", {"a": "1.0", "b": "2.0"}[trial])
        for key, values in metrics.items():
            for step, value in enumerate(values, 1):
                client.log_metric(run, key, value, step=step)
        client.set_terminated(run)
    import study.mlflow_models

    monkeypatch.setattr(study.mlflow_models, "publish", lambda *a, **k: None)  # no checkpoint to publish here
    searcher = SimpleNamespace(rejected=[], proposed=2)
    code = study_best.finish(resolve("vae_beta_sweep", "smoke", []), Writer(uri), exp_id, parent, searcher, None, None)
    assert code == 0
    record = client.get_run(parent).data
    assert record.tags["best_trial_id"] == "a"
    assert record.metrics["best_val_nelbo"] == 100.0 and record.metrics["best_test_nelbo"] == 130.0
    assert record.params["best.beta"] == "1.0"


@pytest.mark.parametrize("metric", ["test_nelbo", "nelbo", "train_loss"])
def test_a_study_on_a_test_metric_is_refused(metric):
    with pytest.raises(ValueError, match="selects on a validation metric"):
        Study(name="vae_x", description="", family="vae", metric=metric, mode="min", space=lambda p: {}, profiles={})
    assert Study(name="vae_x", description="", family="vae", metric="val_nelbo", mode="min", space=lambda p: {},
                 profiles={}).test_metric == "test_nelbo"
