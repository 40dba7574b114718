"""Cycle-consistent VAE losses on known inputs, and what each optimiser step may change."""

import math

import pytest
import torch

from trainables.cyclevae_config import CycleVAEConfig
from trainables.cyclevae_steps import forward_step, forward_terms, make_optimizers, reverse_step, reverse_terms
from trainables.errors import Diverged
from trainables.losses.cyclevae import forward_cycle_loss, pixel_mse, reverse_cycle_loss
from trainables.losses.vae import kl_normal
from trainables.models.cyclevae import build_cyclevae, reparameterize

CFG = CycleVAEConfig(dataset="synthetic", z_dim=4, s_dim=3, width=4, lr=1e-2)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_cyclevae(CFG)


def test_pixel_mse_known_values():
    x = torch.zeros(2, 1, 2, 2)
    x_hat = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.5, 0.0, 0.0, 0.0]]).view(2, 1, 2, 2)
    assert torch.allclose(pixel_mse(x_hat, x), torch.tensor([1.0, 0.0625]))


def test_forward_cycle_loss_is_the_release_weighting():
    # 2 * (0.1 + 0.3) + 3 * (392 + 784) / 784 = 0.8 + 4.5
    loss = forward_cycle_loss(torch.tensor([0.1]), torch.tensor([0.3]), torch.tensor([392.0]), torch.tensor([784.0]),
                              n_pixels=784, recon_weight=2.0, kl_weight=3.0)
    assert loss.item() == pytest.approx(5.3)


def test_reverse_cycle_loss_is_mean_absolute_difference():
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[1.0, 1.0], [1.0, 3.0]])
    assert reverse_cycle_loss(a, b).item() == pytest.approx((1 + 1 + 0 + 2) / 4)
    assert reverse_cycle_loss(a, a).item() == 0.0


def test_reverse_cycle_with_equal_s_has_zero_loss(model):
    z = torch.randn(5, CFG.z_dim)
    s = torch.randn(5, CFG.s_dim)
    assert reverse_terms(model, z, s, s).item() == pytest.approx(0.0, abs=1e-7)
    assert reverse_terms(model, z, s, torch.randn(5, CFG.s_dim)).item() > 1e-4


def test_forward_terms_swap_s_between_the_pair(model):
    x1, x2 = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    r1, r2, k1, k2 = forward_terms(model, x1, x2, torch.Generator().manual_seed(7))
    # by hand, one image at a time: x1 from (z1, s2), x2 from (z2, s1), the same noise
    eps_gen = torch.Generator().manual_seed(7)
    mu1, lv1, s1 = model.encode(x1)
    mu2, lv2, s2 = model.encode(x2)
    z = reparameterize(torch.cat([mu1, mu2]), torch.cat([lv1, lv2]), eps_gen)
    assert torch.allclose(r1, pixel_mse(model.decode(z[:3], s2), x1), atol=1e-6)
    assert torch.allclose(r2, pixel_mse(model.decode(z[3:], s1), x2), atol=1e-6)
    assert torch.allclose(k1, kl_normal(mu1, lv1), atol=1e-5) and torch.allclose(k2, kl_normal(mu2, lv2), atol=1e-5)


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before, module):
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


def test_reverse_step_updates_the_encoder_z_path_only(model):
    _, rev_opt = make_optimizers(model, CFG)
    dec, enc = _snapshot(model.decoder), _snapshot(model.encoder)
    x_a, x_b = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)
    l1 = reverse_step(model, rev_opt, x_a, x_b, CFG, torch.Generator().manual_seed(0))
    assert l1.item() > 0
    assert _changed(dec, model.decoder) == set()  # the decoder is not in the reverse optimiser
    changed = _changed(enc, model.encoder)
    assert {"z_mu.weight", "features.0.weight"} <= changed
    assert not changed & {"s.weight", "s.bias", "z_logvar.weight", "z_logvar.bias"}  # no gradient reaches them


def test_forward_step_updates_encoder_and_decoder(model):
    fwd_opt, _ = make_optimizers(model, CFG)
    dec, enc = _snapshot(model.decoder), _snapshot(model.encoder)
    sums = forward_step(model, fwd_opt, torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28), CFG)
    assert sums.shape == (3,) and torch.isfinite(sums).all()
    assert {"z_in.weight", "s_in.weight", "net.0.weight"} <= _changed(dec, model.decoder)
    assert {"z_mu.weight", "z_logvar.weight", "s.weight"} <= _changed(enc, model.encoder)


def test_reverse_optimizer_holds_exactly_the_encoder(model):
    fwd_opt, rev_opt = make_optimizers(model, CFG)
    rev = {id(p) for g in rev_opt.param_groups for p in g["params"]}
    assert rev == {id(p) for p in model.encoder.parameters()}
    assert len([p for g in fwd_opt.param_groups for p in g["params"]]) == len(list(model.parameters()))


def test_non_finite_forward_loss_raises_diverged(model):
    fwd_opt, _ = make_optimizers(model, CFG)
    x = torch.full((4, 1, 28, 28), float("nan"))
    with pytest.raises(Diverged, match="^diverged"):
        forward_step(model, fwd_opt, x, x, CFG)


def test_reparameterize_is_mu_plus_sigma_eps():
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[-2.0, 0.0, 1.0]])  # sigma = e^-1, 1, e^0.5
    eps = torch.randn(1, 3, generator=torch.Generator().manual_seed(4))
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(4))
    assert torch.allclose(z, mu + eps * torch.tensor([[math.exp(-1), 1.0, math.exp(0.5)]]), atol=1e-6)
    draws = reparameterize(mu.expand(20_000, 3), logvar.expand(20_000, 3), torch.Generator().manual_seed(5))
    assert torch.allclose(draws.std(0), torch.exp(0.5 * logvar[0]), rtol=0.03)  # N(mu, sigma^2) row by row
    assert torch.allclose(draws.mean(0), mu[0], atol=0.05)
