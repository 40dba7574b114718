"""``--models``: the scripted VAE, generator and discriminator compute what the trained modules do,
spectral norm folded in; ``transforms.py`` reads every image layout a notebook passes."""

import numpy as np
import pytest
import torch

from analysis import models
from analysis.model_transforms import denorm, gan_transform, vae_transform
from trainables.families import FAMILIES


@pytest.mark.parametrize("config", [
    {"arch": "mlp", "depth": 1, "width": 16, "latent_dim": 4},
    {"arch": "conv", "depth": 2, "width": 8, "latent_dim": 4, "batchnorm": True, "dropout": 0.1},
    {"arch": "mlp", "depth": 1, "width": 8, "latent_dim": 4, "deterministic": True, "beta": 0.0},
])
def test_scripted_vae_encodes_and_decodes_as_the_model(tmp_path, config):
    torch.manual_seed(0)
    fam = FAMILIES["vae"]
    model = fam.build(fam.make_config(config)).eval()
    assert models.write(model, "vae", tmp_path, (1, 28, 28)) == ["vae.pt", "vae.pt2", "vae_encode.pt2",
                                                                 "vae_decode.pt2", "transforms.py"]
    vae = torch.jit.load(str(tmp_path / "vae.pt"))
    encode = torch.export.load(str(tmp_path / "vae_encode.pt2")).module()
    decode = torch.export.load(str(tmp_path / "vae_decode.pt2")).module()
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        got_mu, got_logvar = vae.encode(x)
        assert torch.allclose(got_mu, mu) and (logvar is None) == (got_logvar is None)
        assert torch.allclose(vae.decode(mu), torch.sigmoid(model.decode(mu)))
        assert torch.allclose(decode(mu), vae.decode(mu), atol=1e-6)  # the .pt2 program, batch of 5 (traced on 4)
        assert torch.allclose(encode(x)[0], mu, atol=1e-6)  # (mu, logvar); a plain autoencoder: (z, None)
        x_hat, _, _ = vae(x)
        assert torch.export.load(str(tmp_path / "vae.pt2")).module()(x)[0].shape == x.shape
    assert x_hat.shape == x.shape and 0 <= x_hat.min() and x_hat.max() <= 1
    if logvar is None:  # a plain autoencoder decodes its code, no sampling
        assert torch.allclose(x_hat, torch.sigmoid(model.decode(mu)))


@pytest.mark.parametrize("config", [{"depth": 2, "width": 8, "latent_dim": 8},
                                    {"depth": 2, "width": 8, "latent_dim": 8, "loss": "hinge", "norm_d": "spectral"}])
def test_scripted_gan_matches_generator_and_discriminator(tmp_path, config):
    torch.manual_seed(0)
    fam = FAMILIES["gan"]
    gan = fam.build(fam.make_config(config))
    gan.train()
    gan.discriminator(torch.randn(4, 1, 28, 28))  # one power iteration: spectral norm's vectors move
    gan.eval()
    models.write(gan, "gan", tmp_path, (1, 28, 28))
    g, d = torch.jit.load(str(tmp_path / "generator.pt")), torch.jit.load(str(tmp_path / "discriminator.pt"))
    g2 = torch.export.load(str(tmp_path / "generator.pt2")).module()
    d2 = torch.export.load(str(tmp_path / "discriminator.pt2")).module()
    z = torch.randn(6, 8)
    with torch.no_grad():
        images = g(z)
        assert torch.allclose(images, gan.generator(z)) and torch.allclose(g(z[:, :, None, None]), images)
        assert torch.allclose(d(images), gan.discriminator(images), atol=1e-6) and d(images).shape == (6,)
        assert torch.allclose(gan.discriminator(images), d(images), atol=1e-6)  # the trained model is untouched
        assert torch.allclose(g2(z), images, atol=1e-6) and torch.allclose(d2(images), d(images), atol=1e-5)


def test_transforms_read_every_layout():
    gray = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    assert vae_transform(gray).shape == (1, 28, 28) and vae_transform(gray).max() <= 1
    assert vae_transform(np.stack([gray] * 5)).shape == (5, 1, 28, 28)  # (N, H, W)
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    assert vae_transform(rgb).shape == (3, 32, 32) and vae_transform(rgb[None].repeat(4, 0)).shape == (4, 3, 32, 32)
    x = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    assert torch.equal(gan_transform(x), torch.tensor([[[-1.0, 1.0]]]))
    assert torch.equal(denorm(gan_transform(x)), vae_transform(x))
    try:
        from PIL import Image
    except ImportError:
        return
    assert torch.equal(vae_transform(Image.fromarray(gray)), vae_transform(gray))
