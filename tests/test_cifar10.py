"""CIFAR-10 from files in torchvision's exact format, generated here; channel handling through a GAN run."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import ONE_TORCH_THREAD_ENV, new_sqlite, run_cli
from trainables.data import DataUnavailable, load_dataset
from trainables.data import cifar10 as cifar_module
from trainables.families import FAMILIES, restore_model
from trainables.gan_config import GANConfig

PER_BATCH = 60  # images per generated batch file: 300 train, 60 test
# the smoke study's files: 72 training images, under one classifier batch (128), so the FID classifier's 400 steps
# (trainables.classifier.MIN_STEPS) each see 72 images, not 128; two GAN batches of 32
E2E_PER_BATCH = 16


def write_cifar(root: Path, per_batch: int = PER_BATCH, seed: int = 0) -> dict[str, np.ndarray]:
    """torchvision's layout: pickles with ``data`` uint8 (N, 3072) (1024 R, then G, then B) and ``labels``.

    Each image is one flat colour per channel, so channel order is checkable: R = 10 * label,
    G = 100 + label, B = 250 - label.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.integers(0, 10, per_batch)
        planes = [np.repeat((c(labels))[:, None], 1024, axis=1) for c in
                  (lambda y: 10 * y, lambda y: 100 + y, lambda y: 250 - y)]
        data = np.concatenate(planes, axis=1).astype(np.uint8)  # (N, 3072)
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name.encode(), "labels": labels.tolist(), "data": data,
                         "filenames": [b"x.png"] * per_batch}, f)
        written[name] = labels
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                     "ship", "truck"], "num_cases_per_batch": per_batch, "num_vis": 3072}, f)
    return written


def test_loads_shapes_dtypes_order_and_channels(tmp_path):
    labels = write_cifar(tmp_path)
    d = load_dataset("cifar10", tmp_path)
    n_val = 5 * PER_BATCH // 10  # the last tenth of the training batches (5,000 of 50,000 for the real files)
    assert d.x_train.shape == (5 * PER_BATCH - n_val, 3, 32, 32) and d.x_val.shape == (n_val, 3, 32, 32)
    assert d.x_test.shape == (PER_BATCH, 3, 32, 32)
    assert d.x_train.dtype == np.uint8 and d.image_shape == (3, 32, 32) and d.num_classes == 10
    expected = np.concatenate([labels[f"data_batch_{i}"] for i in range(1, 6)])  # batches 1..5 in order
    assert (np.concatenate([d.y_train, d.y_val]) == expected).all() and (d.y_test == labels["test_batch"]).all()
    y = d.y_train[:, None, None]
    assert (d.x_train[:, 0] == 10 * y).all() and (d.x_train[:, 1] == 100 + y).all() and (d.x_train[:, 2] == 250 - y).all()


def test_missing_files_raise_with_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar_module, "_try_download", lambda root: None)  # offline, without waiting on DNS
    with pytest.raises(DataUnavailable, match="cifar-10-batches-py"):
        load_dataset("cifar10", tmp_path)


def test_corrupt_batch_names_the_file(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DataUnavailable, match="data_batch_3"):
        load_dataset("cifar10", tmp_path)


def test_gan_trains_on_rgb_32px(tmp_path):
    write_cifar(tmp_path)
    data = load_dataset("cifar10", tmp_path)
    reports = []
    cfg = GANConfig(dataset="cifar10", depth=2, width=8, latent_dim=16, batch_size=32, max_epochs=1,
                    reports_per_epoch=2, eval_samples=64)
    FAMILIES["gan"].fit(cfg, lambda m, d: reports.append((m, sorted(p.name for p in Path(d).iterdir()))), data,
                        workdir=str(tmp_path / "w"))
    assert len(reports) == 2
    metrics, files = reports[-1]
    assert {"fixed_noise.png", "samples.png", "model.safetensors", "config.json"} <= set(files)
    assert "val_fid" not in metrics and "test_fid" not in metrics  # no classifier assets passed: the metric is absent, not a placeholder
    model, cfg = restore_model(tmp_path / "w" / "report_0002")
    g = FAMILIES["gan"].publish(model, cfg, None).programs["generator"].module  # RGB in, RGB out
    assert g(torch.randn(2, 16)).shape == (2, 3, 32, 32)


@pytest.mark.e2e
def test_smoke_study_with_set_dataset_cifar10(tmp_path, short_tmp):
    write_cifar(tmp_path / "data", E2E_PER_BATCH)
    p = run_cli("study.run", "gan_loss_sweep", "--profile", "smoke", "--set", "dataset=cifar10",
                "--num-samples", "1", "--set", "batch_size=32", "--set", "eval_samples=64", "--no-publish",
                "--data-root", str(tmp_path / "data"),
                "--tracking-uri", new_sqlite(tmp_path), "--storage-path", str(tmp_path / "ray"),
                env={"RAY_TMPDIR": str(short_tmp()), **ONE_TORCH_THREAD_ENV})  # short: Ray's sockets max 107 bytes
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "dataset=cifar10" in p.stdout
    assert list((tmp_path / "data" / "classifiers").glob("cifar10-*.safetensors"))  # cached beside the data


@pytest.mark.e2e
def test_missing_dataset_exits_2_and_leaves_no_mlflow_run(tmp_path, short_tmp):
    (tmp_path / "data").mkdir()
    uri = f"sqlite:///{tmp_path}/m.db"
    p = run_cli("study.run", "gan_loss_sweep", "--profile", "smoke", "--set", "dataset=cifar10",
                "--data-root", str(tmp_path / "data"), "--tracking-uri", uri,
                "--storage-path", str(tmp_path / "ray"), env={"RAY_TMPDIR": str(short_tmp())})
    assert p.returncode == 2, p.stdout[-3000:] + p.stderr[-3000:]
    errors = [line for line in p.stderr.splitlines() if line.startswith("study.run: error:")]
    assert len(errors) == 1 and "cifar-10-batches-py" in errors[0]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    assert all(not client.search_runs([e.experiment_id]) for e in client.search_experiments())
