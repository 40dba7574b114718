"""Learning tests: each family's scored model gets measurably better over a few hundred steps on small data
with a fixed seed (each test well under 20 s on the 2-core machine when it is not shared).

A broken update (a wrong sign, a dropped term, a never-updated average) leaves every shape and finite-loss
test passing; these fail. Each margin says where it came from: the same config measured with seeds 0, 1 and 2
(0 is the one tested), the threshold set with headroom below the worst of them.
"""

import numpy as np
import pytest
import torch

from trainables import metric_names as M
from trainables.classifier import prepare_assets
from trainables.cyclevae_config import CycleVAEConfig
from trainables.dann_config import DANNConfig, MoonsConfig
from trainables.data import load_dataset
from trainables.data.arrays import ImageData
from trainables.data.ddpm_data import load_ddpm_data
from trainables.data.domains import DomainData, Labelled
from trainables.data.mnist_m import build_mnist_m, skimage_photos
from trainables.data.moons import make_domain_moons
from trainables.data.paired import PairedData
from trainables.data.shapes_folder import write_shapes_folder
from trainables.ddpm_config import DDPMConfig
from trainables.families import FAMILIES
from trainables.gan_config import GANConfig
from trainables.vae_config import VAEConfig

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _fit(family: str, cfg, data, assets=None) -> list[dict]:
    reports = []
    FAMILIES[family].fit(cfg, lambda metrics, checkpoint: reports.append(metrics), data, assets=assets)
    return reports


def test_vae_validation_nelbo_falls():
    cfg = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=64, latent_dim=8, batch_size=32, lr=1e-3,
                    max_epochs=20, train_size=512, image_every=100)  # 16 steps an epoch: 320 steps
    nelbo = [m[M.VAL_NELBO] for m in _fit("vae", cfg, load_dataset("synthetic"))]
    # measured: 459-465 after the first epoch, 0.24-0.25 of it after the last (seeds 0-2); an untrained model: 550
    assert nelbo[-1] < 0.5 * nelbo[0]
    assert nelbo[-1] < min(nelbo[:-1]) + 5  # still falling (or flat) at the end, not diverging


def test_gan_classifier_feature_frechet_distance_falls(tmp_path):
    data = load_dataset("digits")  # 8x8: the feature classifier trains in seconds (98.9% test accuracy)
    assets = prepare_assets(data, tmp_path)
    cfg = GANConfig(dataset="digits", depth=2, width=16, latent_dim=16, batch_size=64, lr=2e-3, max_epochs=8,
                    eval_samples=300)  # 18 D steps and 18 G steps an epoch: 144 of each
    fid = [m[M.VAL_FID] for m in _fit("gan", cfg, data, assets)]
    # measured: 408-425 after the first epoch, 0.26-0.33 of it after the last (seeds 0-2)
    assert fid[-1] < 0.6 * fid[0]


def test_ddpm_validation_denoising_loss_falls(tmp_path):
    folder = write_shapes_folder(tmp_path / "shapes", n=200)
    data = load_ddpm_data({"dataset": "image_folder", "data_dir": str(folder), "image_size": 32,
                           "fid_features": "none"}, tmp_path / "root")
    cfg = DDPMConfig(dataset="image_folder", data_dir=str(folder), image_size=32, fid_features="none",
                     base_channels=8, channel_mult="1,2", num_res_blocks=1, attention_resolutions="", dropout=0.0,
                     batch_size=16, lr=2e-3, warmup_steps=20, ema_decay=0.95, max_epochs=15, eval_samples=2,
                     ddim_steps=2, loss_eval_images=64)  # 8 steps an epoch: 120 steps
    loss = [m[M.VAL_LOSS] for m in _fit("ddpm", cfg, data)]
    # measured (the EMA U-Net's): 0.97 after the first epoch, 0.113-0.124 after the last (seeds 0-2)
    assert loss[-1] < 0.3 * loss[0]


def test_dann_on_the_moons_beats_its_source_only_twin_on_the_target():
    data = make_domain_moons()
    acc = {}
    for adversarial in (True, False):
        cfg = MoonsConfig(max_epochs=100, reports=1, adversarial=adversarial)  # 30,000 SGD steps of one point each
        (last,) = _fit("dann_moons", cfg, data)
        acc[adversarial] = (last[M.TARGET_VAL_ACC], last[M.TARGET_TEST_ACC])
        assert last[M.SOURCE_ACC] > 0.95  # both separate the source moons
    # measured, seed 0: DANN 0.847 / 0.853 (val / test), source only 0.773 / 0.783; over seeds 0-4 DANN led on
    # the target validation split by 0.04 to 0.14 (at 50 epochs instead of 100 it fell behind for one seed)
    assert acc[True][0] > acc[False][0] + 0.03 and acc[True][1] > acc[False][1] + 0.03


def _mini_mnist_m(mnist_root) -> DomainData:
    """1,000 MNIST digits per split as the source, and MNIST-M built over other digits as the target."""
    mnist = load_dataset("mnist", mnist_root)
    photos = list(skimage_photos().values())
    x, y = mnist.x_train[:, 0], mnist.y_train
    splits = {}
    for i, name in enumerate(("source_train", "source_val", "source_test", "target_train", "target_val", "target_test")):
        digits, labels = x[i * 1000:(i + 1) * 1000], y[i * 1000:(i + 1) * 1000]
        images = digits[:, None] if name.startswith("source") else build_mnist_m(digits, photos, seed=i)
        splits[name] = Labelled(images, labels)
    return DomainData("mini-mnist-m", splits, 10)


def test_dann_target_accuracy_rises(mnist_root):
    # lambda_max 0.3: on so few steps the paper's 1 stops the labels from being learned at all (measured: 0.12)
    cfg = DANNConfig(lr=0.05, batch_size=32, max_epochs=6, lambda_max=0.3)  # 31 steps an epoch: 186 steps
    reports = _fit("dann", cfg, _mini_mnist_m(mnist_root))
    target = [m[M.TARGET_VAL_ACC] for m in reports]
    # measured (seeds 0-2): target 0.22-0.30 after the first epoch, 0.53-0.54 after the last (source only with
    # the same budget: 0.46-0.47); source accuracy 0.94
    assert target[-1] > target[0] + 0.15 and target[-1] > 0.4
    assert reports[-1][M.SOURCE_ACC] > 0.85


def test_cyclevae_s_probe_rises_above_chance(mnist_root):
    mnist = load_dataset("mnist", mnist_root)
    data = PairedData(ImageData("mnist", mnist.x_train[:1600], mnist.y_train[:1600], mnist.x_val[:500],
                                mnist.y_val[:500], mnist.x_test[:500], mnist.y_test[:500], 10))
    cfg = CycleVAEConfig(dataset="mnist", z_dim=8, s_dim=8, width=8, batch_size=32, lr=2e-3, max_epochs=5,
                         probe_train_size=500, probe_epochs=5, eval_size=300, image_every=100)  # 250 iterations
    reports = _fit("cyclevae", cfg, data)
    s_acc = [m[M.VAL_S_ACC] for m in reports]
    # measured (seeds 0-2), chance 0.1: the s-probe 0.49-0.57 after the first epoch, 0.73-0.79 after the last
    # (0.30 on the untrained encoder's s); the z-probe stays at 0.08-0.12, so the gap ends at 0.61-0.67
    assert s_acc[-1] > 0.6 and s_acc[-1] > s_acc[0] + 0.1
    assert reports[-1][M.VAL_ACC_GAP] > 0.45
