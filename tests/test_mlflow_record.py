"""What a smoke study leaves in MLflow for its UI and its users: experiment kind and saved view, readable run
names, dataset inputs, the best model as an MLflow model that reproduces its test metric, ``.pt2`` programs
that load without genstudy, and a registered model version."""

import json
import math
import subprocess
import sys

import mlflow
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from study import mlflow_ui
from tests.mlflow_study import REGISTERED, STUDY, smoke_study
from trainables.data import load_dataset

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke(shared_base, mnist_root):
    s = smoke_study(shared_base, mnist_root)
    assert s.code == 0, s.stdout[-3000:] + s.stderr[-3000:]
    client = MlflowClient(s.uri)
    exp = client.get_experiment_by_name(STUDY)
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("role") == "study")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return s, client, exp, parent, children


def test_experiment_is_tagged_model_training_with_a_saved_view_of_the_trials(smoke):
    _, _, exp, _, _ = smoke
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    view = json.loads(exp.tags["mlflow.sharedViewState.genstudy-trials"])
    state = json.loads(view["state"])
    assert view["name"] == "genstudy: trials by val_nelbo" and isinstance(view["createdAt"], int)
    assert state["orderByKey"] == "metrics.`best_val_nelbo`" and state["orderByAsc"] is True
    assert {"metrics.`best_val_nelbo`", "metrics.`val_nelbo`", "metrics.`test_nelbo`", "params.`beta`",
            "params.`latent_dim`", "attributes.`Dataset`", "attributes.`Models`"} <= set(state["selectedColumns"])
    assert not any(c in state["selectedColumns"] for c in ("params.`dataset`", "params.`max_epochs`"))  # fixed keys


def test_runs_have_readable_names(smoke):
    _, _, _, parent, children = smoke
    assert parent.info.run_name.startswith(f"{STUDY}-20")
    numbers = sorted(int(c.info.run_name.split()[0].removeprefix("trial-")) for c in children)
    assert numbers == list(range(1, len(children) + 1))
    for c in children:
        beta, latent = float(c.data.params["beta"]), int(c.data.params["latent_dim"])
        assert f"β={beta:.3g} latent={latent} {c.data.params['arch']}" in c.info.run_name


def test_every_run_logs_the_data_as_a_dataset_input(smoke, mnist_root):
    _, client, _, parent, children = smoke
    data = load_dataset("mnist", mnist_root)
    for run in [parent, *children]:
        inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
        assert len(inputs) == 1, run.info.run_name
        ds = inputs[0].dataset
        assert (ds.name, ds.digest) == ("mnist", data.digest())
        assert json.loads(ds.profile)["splits"] == {"train": 50_000, "val": 10_000, "test": 10_000}
        assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}


def test_each_trial_logs_the_best_value_the_study_ranks_it_by(smoke):
    _, client, _, parent, children = smoke
    for c in children:
        history = [m.value for m in client.get_metric_history(c.info.run_id, "val_nelbo")]
        assert c.data.metrics["best_val_nelbo"] == pytest.approx(min(history), rel=1e-9)
    best = parent.data.tags["best_run_id"]
    assert min(children, key=lambda c: c.data.metrics["best_val_nelbo"]).info.run_id == best
    assert parent.data.metrics["best_val_nelbo"] == pytest.approx(
        next(c for c in children if c.info.run_id == best).data.metrics["best_val_nelbo"])


def test_best_model_loads_with_mlflow_and_reproduces_the_logged_test_metric(smoke, mnist_root):
    """Acceptance 2: mlflow.pytorch.load_model on the best run's model gives test_nelbo within 1%."""
    s, client, _, parent, _ = smoke
    uri = parent.data.tags["best_model_uri"]
    assert uri.startswith("models:/m-") and f"model: {uri}" in s.stdout
    mlflow.set_tracking_uri(s.uri)
    model = mlflow.pytorch.load_model(uri)
    assert not isinstance(model, torch.jit.ScriptModule)  # a torch.export program, not pickle or TorchScript
    x_test = torch.from_numpy(load_dataset("mnist", mnist_root).x_test[:2000]).float() / 255  # what smoke scores
    torch.manual_seed(0)
    with torch.no_grad():
        nelbo = torch.cat([model(x_test[i:i + 1000]) for i in range(0, len(x_test), 1000)])
    logged = parent.data.metrics["best_test_nelbo"]
    assert nelbo.shape == (2000,) and math.isclose(nelbo.mean().item(), logged, rel_tol=0.01), \
        (nelbo.mean().item(), logged)
    logged_model = client.get_logged_model(uri.removeprefix("models:/"))
    assert logged_model.source_run_id == parent.data.tags["best_run_id"]
    assert logged_model.experiment_id == parent.info.experiment_id
    assert {m.key for m in logged_model.metrics} >= {"val_nelbo", "test_nelbo"}


def test_best_model_has_signature_and_input_example_and_serves_as_pyfunc(smoke):
    s, _, _, parent, _ = smoke
    uri = parent.data.tags["best_model_uri"]
    mlflow.set_tracking_uri(s.uri)
    info = mlflow.models.get_model_info(uri)
    spec = info.signature.inputs.inputs[0]
    assert spec.shape == (-1, 1, 28, 28) and spec.type == np.dtype("float32")
    assert info.signature.outputs.inputs[0].shape == (-1,)
    assert info.saved_input_example_info["type"] == "ndarray"
    pyfunc = mlflow.pyfunc.load_model(uri)
    example = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    scores = pyfunc.predict(example)
    assert scores.shape == (3,) and np.all(scores > 0)


PROGRAMS = """
import sys
sys.modules["trainables"] = None  # genstudy cannot be imported
import torch
decoder = torch.export.load(sys.argv[1]).module()
encoder = torch.export.load(sys.argv[2]).module()
images = decoder(torch.randn(7, int(sys.argv[3])))
assert images.shape == (7, 1, 28, 28) and 0 <= images.min() and images.max() <= 1, images.shape
mu, logvar = encoder(images)
assert mu.shape == logvar.shape == (7, int(sys.argv[3])), mu.shape
print("ok")
"""


def test_decoder_and_encoder_programs_load_without_genstudy(smoke, tmp_path):
    _, client, _, parent, _ = smoke
    best = parent.data.tags["best_run_id"]
    names = {a.path for a in client.list_artifacts(best)}
    assert {"decoder.pt2", "encoder.pt2", "model.safetensors", "config.json"} <= names
    paths = [client.download_artifacts(best, name, str(tmp_path)) for name in ("decoder.pt2", "encoder.pt2")]
    latent = client.get_run(best).data.params["latent_dim"]
    p = subprocess.run([sys.executable, "-c", PROGRAMS, *paths, latent], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-3000:]


def test_register_created_a_model_version_of_the_best_model(smoke):
    s, client, _, parent, _ = smoke
    versions = client.search_model_versions(f"name = '{REGISTERED}'")
    assert len(versions) == 1
    v = versions[0]
    assert v.source == parent.data.tags["best_model_uri"] and v.run_id == parent.data.tags["best_run_id"]
    assert v.tags["study"] == STUDY and v.tags["parent_run_id"] == parent.info.run_id
    assert f"registered as {REGISTERED} version 1" in s.stdout


def test_summary_prints_the_link_to_the_trials(smoke):
    s, _, exp, _, _ = smoke
    assert mlflow_ui.runs_link(exp.experiment_id) in s.stdout
