"""``study.run --from-config``: one trial of a best_config.yaml's configuration, logged to MLflow."""

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

CONFIG = {"dataset": "mnist", "seed": 3, "lr": 0.002, "batch_size": 128, "max_epochs": 2, "arch": "mlp",
          "depth": 1, "width": 64, "latent_dim": 8, "batchnorm": False, "dropout": 0.0, "beta": 1.5,
          "beta_schedule": "constant", "warmup_epochs": 0, "likelihood": "bernoulli", "deterministic": False,
          "train_size": 2000, "image_every": 2}


def test_from_config_trains_that_config_once(tmp_path, mnist_root):
    path = tmp_path / "best_config.yaml"
    path.write_text(yaml.safe_dump({"format_version": 1, "study": "vae_beta_sweep", "family": "vae",
                                    "best": {"rank": 1, "config": CONFIG}, "top_k": []}))
    uri = f"sqlite:///{tmp_path}/m.db"
    p = run_cli("study.run", "--from-config", str(path), "--profile", "smoke", "--data-root", str(mnist_root),
                "--tracking-uri", uri, "--storage-path", str(tmp_path / "ray"))
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("vae_beta_sweep").experiment_id])
    (child,) = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    (parent,) = [r for r in runs if r.data.tags.get("role") == "study"]
    assert parent.data.tags["from_config"] == str(path.resolve())
    assert {k: child.data.params[k] for k in CONFIG} == {k: str(v) for k, v in CONFIG.items()}
    assert child.data.tags["status"] == "finished" and child.data.tags["epochs_run"] == "2"


def test_from_config_of_another_study_exits_2(tmp_path):
    path = tmp_path / "best_config.yaml"
    path.write_text(yaml.safe_dump({"study": "vae_beta_sweep", "family": "vae", "best": {"rank": 1, "config": CONFIG}}))
    p = run_cli("study.run", "ae_latent_sweep", "--from-config", str(path))
    assert p.returncode == 2 and "not 'ae_latent_sweep'" in p.stderr
