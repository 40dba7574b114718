"""The GAN smoke study end to end: real Ray, real MLflow (SQLite), real MNIST files. The study is the session's
shared one (tests/gan_study.py), whose export tests/test_analysis_gan.py checks."""

import subprocess
import sys

import mlflow
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from analysis.figures.common import image_steps
from tests.gan_study import STUDY, gan_smoke

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, shared_base, mnist_root):
    s = gan_smoke(shared_base, mnist_root)
    assert s.study_code == 0, s.log
    client = MlflowClient(s.uri)
    runs = client.search_runs([client.get_experiment_by_name(STUDY).experiment_id])
    parent = next(r for r in runs if r.data.tags.get("role") == "study")
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return s, client, parent, children, tmp_path_factory.mktemp("gan_downloads")


def test_smoke_exits_0_with_all_four_losses_finished(smoke):
    s, _, parent, children, _ = smoke
    assert "best trial" in s.study_stdout and "val_fid = " in s.study_stdout and "test_fid = " in s.study_stdout
    finished = [c for c in children if c.info.status == "FINISHED" and c.data.tags.get("status") == "finished"]
    assert {c.data.params["loss"] for c in finished} == {"bce", "lsgan", "wgan_gp", "hinge"}
    assert parent.info.status == "FINISHED" and "best_run_id" in parent.data.tags


def test_every_child_logs_per_report_metrics_and_grids(smoke):
    _, client, _, children, _ = smoke
    for c in children:
        reports = int(c.data.tags["epochs_run"])
        assert reports == 2
        for key in ("val_fid", "val_kid", "test_fid", "test_kid", "loss_d", "loss_g", "d_real", "d_fake", "class_entropy", "n_params",
                    "samples_per_s", "classifier_accuracy"):
            steps = sorted(m.step for m in client.get_metric_history(c.info.run_id, key))
            assert steps == list(range(1, reports + 1)), (key, steps)
        assert not [k for k in c.data.metrics if "fid_inception" in k]  # no Inception weights offline: absent, not faked
        assert client.get_metric_history(c.info.run_id, "classifier_accuracy")[0].value >= 0.99
        images = [a.path for a in client.list_artifacts(c.info.run_id, "images")]
        assert sorted(image_steps(images, "fixed_noise")) == [1, 2]  # logged with log_image(key, step): the UI slider
        assert 2 in image_steps(images, "samples")  # the last report always has samples
        assert c.data.tags.get("mlflow.loggedImages") == "True"


def test_best_generator_loads_in_a_clean_interpreter(smoke):
    _, client, parent, _, tmp = smoke
    best = parent.data.tags["best_run_id"]
    names = {a.path for a in client.list_artifacts(best)}
    assert {"model.safetensors", "config.json", "generator.pt"} <= names
    path = client.download_artifacts(best, "generator.pt", str(tmp))
    code = ("import sys; sys.modules['trainables'] = None; import torch; g = torch.jit.load(sys.argv[1]); "
            "x = g(torch.randn(6, g.latent_dim)); assert x.shape == (6, 1, 28, 28), x.shape; "
            "assert 0 <= x.min() and x.max() <= 1; print('ok')")
    out = subprocess.run([sys.executable, "-I", "-c", code, path], capture_output=True, text=True, cwd=tmp, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_best_generator_is_an_mlflow_model_and_a_pt2_program(smoke):
    """The torch.export forms of the generator: the MLflow model (pt2, pyfunc) and generator.pt2 without genstudy."""
    s, client, parent, _, tmp = smoke
    best = parent.data.tags["best_run_id"]
    mlflow.set_tracking_uri(s.uri)  # the study's database
    uri = parent.data.tags["best_model_uri"]
    latent = int(client.get_run(best).data.params["latent_dim"])
    images = mlflow.pytorch.load_model(uri)(torch.randn(5, latent))
    assert images.shape == (5, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    served = mlflow.pyfunc.load_model(uri).predict(np.random.default_rng(0).standard_normal((3, latent), np.float32))
    assert served.shape == (3, 1, 28, 28)
    path = client.download_artifacts(best, "generator.pt2", str(tmp))
    code = ("import sys; sys.modules['trainables'] = None; import torch; g = torch.export.load(sys.argv[1]).module(); "
            f"x = g(torch.randn(6, {latent})); assert x.shape == (6, 1, 28, 28), x.shape; "
            "assert 0 <= x.min() and x.max() <= 1; print('ok')")
    out = subprocess.run([sys.executable, "-I", "-c", code, path], capture_output=True, text=True, cwd=tmp, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
