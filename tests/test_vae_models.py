"""Every VAE architecture builds with the right shapes, and counts its parameters on meta."""

import itertools

import pytest
import torch

from trainables.families import FAMILIES
from trainables.models.params import count_params
from trainables.models.vae import build_vae
from trainables.vae_config import ARCHS, LIKELIHOODS, VAEConfig

SHAPES = [(1, 28, 28), (1, 8, 8), (3, 32, 32)]


@pytest.mark.parametrize("arch,likelihood,deterministic,shape",
                         list(itertools.product(ARCHS, LIKELIHOODS, [False, True], SHAPES)))
def test_builds_with_right_shapes(arch, likelihood, deterministic, shape):
    cfg = VAEConfig(arch=arch, depth=2, width=16, latent_dim=5, likelihood=likelihood, batchnorm=True,
                    dropout=0.1, deterministic=deterministic, beta=0.0 if deterministic else 1.0)
    model = build_vae(cfg, shape)
    x = torch.rand(3, *shape)
    logits, mu, logvar, z = model(x)
    assert logits.shape == (3, *shape)
    assert mu.shape == z.shape == (3, 5)
    assert (logvar is None) == deterministic
    if deterministic:
        assert torch.equal(z, mu)
    real = sum(p.numel() for p in model.parameters())
    assert count_params(lambda: build_vae(cfg, shape)) == real


def test_pytorch_examples_mlp_parameter_count():
    # 784-400-20 encoder with mu and logvar heads, 20-400-784 decoder: 330,040 + 322,784
    cfg = VAEConfig(arch="mlp", depth=1, width=400, latent_dim=20)
    assert FAMILIES["vae"].n_params(cfg) == 652_824


def test_meta_count_allocates_nothing():
    cfg = VAEConfig(arch="mlp", depth=4, width=8192)  # 416M parameters: 1.6 GB if allocated
    assert FAMILIES["vae"].n_params(cfg) > 400_000_000


def test_conv_too_deep_for_image_is_an_error():
    with pytest.raises(ValueError, match="too deep"):
        build_vae(VAEConfig(arch="conv", depth=4, width=8), (1, 8, 8))


@pytest.mark.parametrize("bad", [dict(arch="rnn"), dict(likelihood="laplace"), dict(beta_schedule="step"),
                                 dict(deterministic=True, beta=1.0), dict(dropout=1.0), dict(lr=0.0)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        VAEConfig(**bad)


def test_config_rejects_unknown_key():
    with pytest.raises(TypeError):
        VAEConfig(betta=1.0)
