"""The GAN training loop on tiny data: report count, divergence (resume: tests/test_family_contract.py)."""

import pytest
import torch

from trainables.data import load_dataset
from trainables.errors import Diverged
from trainables.families import FAMILIES
from trainables.gan_config import GANConfig

fit = FAMILIES["gan"].fit
from trainables.losses import gan as gan_losses

TINY = dict(dataset="synthetic", depth=2, width=8, latent_dim=8, batch_size=32, train_size=256, eval_samples=32)


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic")


def test_reports_n_reports_times_with_the_checkpoint_meta(data, tmp_path):
    cfg = GANConfig(**TINY, max_epochs=2, reports_per_epoch=3)
    seen = []
    fit(cfg, lambda m, d: seen.append(m), data, workdir=str(tmp_path))
    assert len(seen) == cfg.n_reports == 6
    assert seen[-1]["epoch"] == pytest.approx(2.0) and seen[2]["epoch"] == pytest.approx(1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"report_{k:04d}" for k in range(1, 7)]


@pytest.mark.parametrize("loss", ["bce", "lsgan", "wgan_gp", "hinge"])
def test_every_loss_trains_finite(data, loss):
    cfg = GANConfig(**TINY, max_epochs=1, loss=loss, norm_d="none" if loss == "wgan_gp" else "batch",
                    n_critic=2 if loss == "wgan_gp" else 1, instance_noise=0.1,
                    label_smoothing=0.1 if loss in ("bce", "lsgan") else 0.0)
    seen = []
    fit(cfg, lambda m, d: seen.append(m), data)
    assert all(torch.isfinite(torch.tensor(seen[-1][k])) for k in ("loss_d", "loss_g", "d_real", "d_fake"))


def test_d_winning_for_a_long_stretch_stops_the_trial(data, monkeypatch):
    monkeypatch.setitem(gan_losses.D_WON, "bce", lambda real, fake, real_label: True)
    with pytest.raises(Diverged, match="^diverged: D won completely for 5 D steps"):
        fit(GANConfig(**TINY, max_epochs=1, d_win_patience=5), lambda m, d: None, data)


def test_the_d_won_check_gets_the_smoothed_real_target(data, monkeypatch):
    seen = []
    monkeypatch.setitem(gan_losses.D_WON, "bce", lambda real, fake, real_label: seen.append(real_label) or False)
    fit(GANConfig(**TINY, max_epochs=1, label_smoothing=0.3), lambda m, d: None, data)
    assert seen and seen == pytest.approx([0.7] * len(seen))


def test_non_finite_loss_stops_the_trial(data):
    with pytest.raises(Diverged, match="^diverged: non-finite"):
        fit(GANConfig(**TINY, max_epochs=1, lr_d=float("inf")), lambda m, d: None, data)
