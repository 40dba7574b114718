"""VAE losses and beta schedules against known values."""

import math

import pytest
import torch

from trainables.losses.vae import BETA_SCHEDULES, RECON_LOSSES, bernoulli_nll, gaussian_nll, kl_normal


def test_kl_of_standard_normal_is_zero():
    mu, logvar = torch.zeros(4, 16), torch.zeros(4, 16)
    assert torch.allclose(kl_normal(mu, logvar), torch.zeros(4))


def test_kl_known_value():
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension; KL(N(0, e) || N(0, 1)) = (e - 1 - 1) / 2
    assert kl_normal(torch.ones(1, 10), torch.zeros(1, 10)).item() == pytest.approx(5.0)
    assert kl_normal(torch.zeros(1, 1), torch.ones(1, 1)).item() == pytest.approx((math.e - 2) / 2)


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(3, 7), torch.randn(3, 7)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(kl_normal(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)


def test_bce_of_perfect_binary_reconstruction_is_zero():
    x = (torch.rand(2, 1, 28, 28) > 0.5).float()
    logits = (2 * x - 1) * 40.0  # sigmoid(+-40) is 1 or 0 to float precision
    assert bernoulli_nll(logits, x).max().item() < 1e-6


def test_bce_of_uninformed_decoder_is_log2_per_pixel():
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(bernoulli_nll(torch.zeros_like(x), x), torch.full((3,), 784 * math.log(2)), rtol=1e-5)


def test_gaussian_nll_known_value():
    x = torch.full((1, 1, 2, 2), 0.5)
    logits = torch.zeros_like(x)  # mean sigmoid(0) = 0.5: the squared error is 0
    nll = gaussian_nll(logits, x, torch.zeros(1, 1, 1))
    assert nll.item() == pytest.approx(4 * 0.5 * math.log(2 * math.pi))
    assert set(RECON_LOSSES) == {"bernoulli", "gaussian"}


@pytest.mark.parametrize("name,t,period,expected", [
    ("constant", 0.3, 0, 4.0),
    ("linear", 0.0, 4, 0.0), ("linear", 2.0, 4, 2.0), ("linear", 9.0, 4, 4.0), ("linear", 1.0, 0, 4.0),
    ("cyclical", 0.0, 4, 0.0), ("cyclical", 1.0, 4, 2.0), ("cyclical", 3.0, 4, 4.0), ("cyclical", 5.0, 4, 2.0),
])
def test_beta_schedules(name, t, period, expected):
    assert BETA_SCHEDULES[name](4.0, t, period) == pytest.approx(expected)
