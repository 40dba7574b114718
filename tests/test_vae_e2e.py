"""The VAE smoke study end to end: real Ray, real MLflow (SQLite), real MNIST files."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mlflow.tracking import MlflowClient

from analysis.checkpoints import load_model
from tests.conftest import new_sqlite, run_cli
from tests.mlflow_study import smoke_study
from trainables.data import load_dataset
from trainables.vae import evaluate

pytestmark = pytest.mark.e2e


def _runs(uri: str, study: str):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(study)
    runs = client.search_runs([exp.experiment_id]) if exp else []
    parents = [r for r in runs if r.data.tags.get("role") == "study"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, parents, children


@pytest.fixture(scope="module")
def smoke(shared_base, mnist_root):
    """The session's VAE smoke study (tests/mlflow_study.py: the smoke profile, with ``--register``), shared with
    the MLflow record and UI modules: one study for all three."""
    s = smoke_study(shared_base, mnist_root)
    return SimpleNamespace(returncode=s.code, stdout=s.stdout, stderr=s.stderr), s.uri


def test_smoke_study_exits_0_and_prints_best(smoke):
    p, uri = smoke
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "best trial" in p.stdout and "(chosen on val_nelbo)" in p.stdout and "test_nelbo = " in p.stdout
    assert uri in p.stdout


def test_mlflow_has_parent_and_finished_children_with_epoch_metrics(smoke):
    _, uri = smoke
    client, parents, children = _runs(uri, "vae_beta_sweep")
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert {"study", "profile", "mlflow.source.git.commit"} <= set(parent.data.tags)  # MLflow's own source tag
    assert all(c.data.tags.get("mlflow.source.git.commit") == parent.data.tags["mlflow.source.git.commit"] for c in children)
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    finished = [c for c in children if c.info.status == "FINISHED"]
    assert len(finished) >= 4
    for c in finished:
        epochs = int(c.data.tags["epochs_run"])
        for key in ("val_nelbo", "val_recon", "val_kl", "test_nelbo", "test_recon", "test_kl"):
            steps = [m.step for m in client.get_metric_history(c.info.run_id, key)]
            assert sorted(steps) == list(range(1, epochs + 1)), key
        assert c.data.params["arch"] in ("mlp", "conv") and "beta" in c.data.params  # full config as params
        assert any(a.path == "images" for a in client.list_artifacts(c.info.run_id))
    assert any(c.data.tags["status"] == "stopped_early" for c in children), "ASHA stopped no trial"
    assert parent.data.metrics["n_proposed"] == 6


def test_best_checkpoint_is_the_best_validation_epoch_and_reproduces_both_numbers(smoke, mnist_root):
    _, uri = smoke
    client, parents, _ = _runs(uri, "vae_beta_sweep")
    best_run = parents[0].data.tags["best_run_id"]
    names = {a.path for a in client.list_artifacts(best_run)}
    assert {"model.safetensors", "config.json"} <= names
    model, cfg = load_model(best_run, uri)
    data = load_dataset("mnist", mnist_root)
    step, val_logged = min(((m.step, m.value) for m in client.get_metric_history(best_run, "val_nelbo")),
                           key=lambda p: p[1])
    test_logged = next(m.value for m in client.get_metric_history(best_run, "test_nelbo") if m.step == step)
    n = cfg.eval_size  # the smoke profile scores the first 2,000 images of each split
    assert n == 2000
    assert evaluate(model, torch.from_numpy(data.x_val[:n]), cfg)["nelbo"] == pytest.approx(val_logged, rel=0.01)
    assert evaluate(model, torch.from_numpy(data.x_test[:n]), cfg)["nelbo"] == pytest.approx(test_logged, rel=0.01)
    assert parents[0].data.metrics["best_val_nelbo"] == pytest.approx(val_logged)
    assert parents[0].data.metrics["best_test_nelbo"] == pytest.approx(test_logged)  # reported beside, not chosen by


def test_all_over_cap_is_refused_before_ray(tmp_path, mnist_root):
    # every configuration of the dry run over the cap: exit 2 before Ray (tests/test_bad_input.py); the
    # searcher's rejection of each proposal over the cap is tests/test_searcher.py's
    uri = f"sqlite:///{tmp_path}/m.db"
    p = run_cli("study.run", "vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root),
                "--tracking-uri", uri, "--storage-path", str(tmp_path / "ray"),
                "--set", "arch=mlp", "--set", "width=8192", "--set", "depth=4")
    assert p.returncode == 2, p.stderr[-2000:]
    assert "over the 25,000,000-parameter cap (the smallest has" in p.stderr
    assert not (tmp_path / "m.db").exists()


def test_mixed_cap_trains_only_feasible(tmp_path, mnist_root):
    uri = new_sqlite(tmp_path)
    cap = 150_000
    p = run_cli("study.run", "vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root),
                "--tracking-uri", uri, "--storage-path", str(tmp_path / "ray"), "--param-cap", str(cap),
                "--max-epochs", "1", "--no-publish")  # the cap's decisions come before training: one report is enough
    assert p.returncode == 0, p.stderr[-2000:]
    client, parents, children = _runs(uri, "vae_beta_sweep")
    rejected = parents[0].data.metrics["n_rejected_cap"]
    assert 0 < rejected < 6 and len(children) == 6 - rejected
    for c in children:
        assert client.get_metric_history(c.info.run_id, "n_params")[0].value <= cap
    path = client.download_artifacts(parents[0].info.run_id, "rejected.json", str(tmp_path))
    listed = json.loads(Path(path).read_text())  # the configurations the cap kept out, in full
    assert len(listed) == rejected and all(x["n_params"] > cap for x in listed)
    assert all(x["config"]["dataset"] == "mnist" and "width" in x["config"] for x in listed)
