"""DCGAN modules: every configuration builds with the right shapes and counted parameters."""

import itertools
import subprocess
import sys

import pytest
import torch

from search_spaces.gan import BASELINES
from trainables.families import FAMILIES
from trainables.export import write as write_exports
from trainables.gan_export import gan_exports
from trainables.gan_config import GANConfig
from trainables.models.gan import build_gan
from trainables.models.params import count_params

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 128, 128)]  # MNIST, CIFAR-10, image folders
NORMS = [("batch", "batch"), ("none", "none"), ("spectral", "batch")]  # (norm_d, norm_g)
CASES = [
    (shape, depth, norm_d, norm_g, act)
    for shape, (norm_d, norm_g), act in itertools.product(SHAPES, NORMS, ["relu", "leaky_relu"])
    for depth in (1, 2, {28: 4, 32: 5, 64: 6, 128: 7}[shape[1]])  # the deepest reaches 1 px
]


@pytest.mark.parametrize("shape,depth,norm_d,norm_g,act", CASES)
def test_every_config_builds_with_right_shapes_and_counted_params(shape, depth, norm_d, norm_g, act):
    cfg = GANConfig(depth=depth, width=4, latent_dim=8, norm_d=norm_d, norm_g=norm_g, act_g=act, act_d=act,
                    d_dropout=0.1, loss="hinge" if norm_d == "spectral" else "bce")
    gan = build_gan(cfg, shape)
    images = gan.generator(torch.randn(3, 8))
    assert images.shape == (3, *shape)
    assert images.abs().max() <= 1.0  # tanh
    assert gan.discriminator(images).shape == (3,)
    real = sum(p.numel() for p in gan.parameters())
    assert real == sum(p.numel() for p in gan.generator.parameters()) + sum(
        p.numel() for p in gan.discriminator.parameters())
    assert count_params(lambda: build_gan(cfg, shape)) == real  # the meta-device count the cap uses: G + D


def test_too_deep_for_the_image_size_fails_clearly():
    with pytest.raises(ValueError, match="too deep"):
        build_gan(GANConfig(depth=5), (1, 28, 28))


@pytest.mark.parametrize("point", BASELINES, ids=[b["loss"] for b in BASELINES])
def test_study_baselines_build_on_mnist_and_cifar(point):
    for dataset, shape in (("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))):
        cfg = GANConfig(dataset=dataset, loss=point["loss"], depth=point["depth"], width=point["width"],
                        latent_dim=point["latent_dim"], norm_d="none" if point["loss"] == "wgan_gp" else "batch")
        gan = build_gan(cfg, shape)
        assert gan.generator(torch.randn(2, cfg.latent_dim)).shape == (2, *shape)


def test_parameter_count_of_dcgan_matches_hand_count():
    # depth 1 on 28px: G = ConvT(8 -> 4, k=14) no bias + BN(4) + ConvT(4 -> 1, k4) with bias;
    # D = Conv(1 -> 4, k4) with bias + head Conv(4 -> 1, k14) with bias
    g = 8 * 4 * 14 * 14 + 2 * 4 + 4 * 1 * 16 + 1
    d = 1 * 4 * 16 + 4 + 4 * 1 * 14 * 14 + 1
    assert FAMILIES["gan"].n_params(GANConfig(depth=1, width=4, latent_dim=8)) == g + d


def test_dcgan_init_and_spectral_norm():
    gan = build_gan(GANConfig(depth=3, width=64, norm_d="spectral", loss="hinge"), (1, 28, 28))
    w = gan.generator.net[0].weight
    assert w.std().item() == pytest.approx(0.02, rel=0.05) and w.mean().abs() < 2e-3
    head = gan.discriminator.head
    assert hasattr(head, "parametrizations")  # spectral norm on every D conv
    sigma = torch.linalg.matrix_norm(head.weight.flatten(1), ord=2)
    assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_exported_generator_runs_without_genstudy(tmp_path):
    gan = build_gan(GANConfig(depth=2, width=8, latent_dim=16), (3, 32, 32))
    write_exports(gan_exports(gan, (3, 32, 32)), tmp_path)  # the family's one export: .pt2 programs and .pt scripts
    code = ("import sys; sys.modules['trainables'] = None; import torch; "
            f"g = torch.jit.load(r'{tmp_path / 'generator.pt'}'); x = g(torch.randn(5, g.latent_dim)); "
            f"p = torch.export.load(r'{tmp_path / 'generator.pt2'}').module(); y = p(torch.randn(3, 16)); "
            "assert x.shape == (5, 3, 32, 32) and 0 <= x.min() and x.max() <= 1, x.shape; "
            "assert y.shape == (3, 3, 32, 32); print('ok')")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
    gan.generator.eval()
    z = torch.randn(4, 16)
    with torch.no_grad():
        expected = (gan.generator(z) + 1) / 2
    assert torch.allclose(torch.jit.load(str(tmp_path / "generator.pt"))(z), expected, atol=1e-6)
    assert torch.allclose(torch.export.load(str(tmp_path / "generator.pt2")).module()(z), expected, atol=1e-6)
