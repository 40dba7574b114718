"""``study.run --from-config`` refusals; the run itself (one trial of an exported best_config.yaml, logged to MLflow)
is tests/test_analysis_export.py::test_from_config_trains_the_best_config_again."""

import yaml

from tests.conftest import run_cli


CONFIG = {"dataset": "mnist", "seed": 3, "lr": 0.002, "batch_size": 128, "max_epochs": 2, "arch": "mlp",
          "depth": 1, "width": 64, "latent_dim": 8, "batchnorm": False, "dropout": 0.0, "beta": 1.5,
          "beta_schedule": "constant", "warmup_epochs": 0, "likelihood": "bernoulli", "deterministic": False,
          "train_size": 2000, "image_every": 2}


def test_from_config_of_another_study_exits_2(tmp_path):
    path = tmp_path / "best_config.yaml"
    path.write_text(yaml.safe_dump({"study": "vae_beta_sweep", "family": "vae", "best": {"rank": 1, "config": CONFIG}}))
    p = run_cli("study.run", "ae_latent_sweep", "--from-config", str(path))
    assert p.returncode == 2 and "not 'ae_latent_sweep'" in p.stderr
