"""The VAE's training step against its definition: the gradient of recon + β·KL, the β schedule read at each
batch's training progress, the KL of the encoder's posterior, and z = μ + σ ε."""

import pytest
import torch

from tests.step_support import GradRecorder, grads_of
from trainables.images import uint8_to_float
from trainables.losses.vae import BETA_SCHEDULES, bernoulli_nll
from trainables.models.vae import build_vae
from trainables.vae import _train_epoch, loss_terms
from trainables.vae_config import VAEConfig

SHAPE = (1, 8, 8)
CFG = dict(dataset="synthetic", arch="mlp", depth=1, width=16, latent_dim=3)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _model(cfg: VAEConfig, logvar_bias: float = 0.0):
    torch.manual_seed(0)
    model = build_vae(cfg, SHAPE)
    with torch.no_grad():  # the posterior's log-variance away from 0, so that σ and σ² differ
        model.encoder[-1].bias[cfg.latent_dim:] = logvar_bias
    return model


def _kl_by_hand(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)


def test_training_step_gradient_is_recon_plus_beta_times_kl():
    cfg = VAEConfig(**CFG, batch_size=16, beta=0.3)
    model = _model(cfg, logvar_bias=-1.0)
    image = torch.randint(0, 256, (1, *SHAPE), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    x_train = image.repeat(16, 1, 1, 1)  # one image 16 times: the epoch's shuffle cannot change the batch
    opt = GradRecorder(model)
    torch.manual_seed(5)  # the posterior noise of the step
    _train_epoch(model, opt, x_train, cfg, BETA_SCHEDULES["constant"], epoch=1)
    (lr, applied), = opt.steps
    # by hand: the same noise, the two terms' gradients apart
    torch.manual_seed(5)
    x = uint8_to_float(x_train)
    logits, mu, logvar, _ = model(x)
    g_recon = grads_of(bernoulli_nll(logits, x).mean(), model)
    g_kl = grads_of(_kl_by_hand(mu, logvar).mean(), model)
    for name, g in applied.items():
        assert torch.allclose(g, g_recon[name] + 0.3 * g_kl[name], rtol=1e-4, atol=1e-6), name
    # the KL's share is large enough that β = 1 (or 0) would fail the comparison above
    enc = "encoder.1.weight"
    assert (0.7 * g_kl[enc]).norm() > 100 * 1e-4 * (g_recon[enc] + 0.3 * g_kl[enc]).norm()


def test_beta_schedule_is_read_at_each_batchs_progress():
    cfg = VAEConfig(**CFG, batch_size=4, beta=2.0, warmup_epochs=7)
    model = _model(cfg)
    seen = []

    def schedule(beta, t, period):
        seen.append((beta, t, period))
        return 0.5

    x_train = torch.randint(0, 256, (16, *SHAPE), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    train, _, beta = _train_epoch(model, GradRecorder(model), x_train, cfg, schedule, epoch=3)
    # epoch 3 of 4 batches: progress 2, 2.25, 2.5, 2.75 epochs
    assert seen == [(2.0, 2.0, 7), (2.0, 2.25, 7), (2.0, 2.5, 7), (2.0, 2.75, 7)]
    assert beta == 0.5 and train["loss"] == pytest.approx(train["recon"] + 0.5 * train["kl"], rel=1e-6)


def test_loss_terms_kl_is_the_encoders_kl():
    model = _model(VAEConfig(**CFG), logvar_bias=-1.0)
    x = torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(2))
    recon, kl = loss_terms(model, x, "bernoulli", torch.Generator().manual_seed(3))
    mu, logvar = model.encode(x)
    expected = _kl_by_hand(mu, logvar)
    assert expected.min() > 0.1  # a posterior far from the prior: a dropped KL would show
    assert torch.allclose(kl, expected, rtol=1e-5)
    assert recon.shape == kl.shape == (6,)


def test_reparameterisation_draws_mu_plus_sigma_eps():
    model = _model(VAEConfig(**CFG), logvar_bias=-2.0)  # σ = e^-1 ≈ 0.37, σ² ≈ 0.14
    x = torch.rand(4, *SHAPE, generator=torch.Generator().manual_seed(2))
    _, mu, logvar, z = model(x, torch.Generator().manual_seed(9))
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(9))
    assert torch.allclose(z, mu + eps * torch.exp(0.5 * logvar), atol=1e-6)
    assert (logvar + 2.0).abs().max() < 0.5  # the posterior scale set above holds
