"""``--models`` writes the family's one export (``Family.publish``): the scripted and exported VAE,
generator and discriminator compute what the trained modules do, spectral norm folded in;
``transforms.py`` reads every image layout a notebook passes."""

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
    cfg = fam.make_config(config)
    model = fam.build(cfg).eval()
    names, _ = models.write(model, cfg, "vae", tmp_path)
    forward = [] if cfg.deterministic else ["vae.pt2"]  # an autoencoder's forward has no logvar to export
    assert names == ["encoder.pt2", "decoder.pt2", *forward, "vae.pt", "transforms.py"]
    vae = torch.jit.load(str(tmp_path / "vae.pt"))
    encode = torch.export.load(str(tmp_path / "encoder.pt2")).module()
    decode = torch.export.load(str(tmp_path / "decoder.pt2")).module()
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        got_mu, got_logvar = vae.encode(x)
        assert torch.allclose(got_mu, mu) and (logvar is None) == (got_logvar is None)
        assert torch.allclose(vae.decode(mu), torch.sigmoid(model.decode(mu)))
        assert torch.allclose(decode(mu), vae.decode(mu), atol=1e-6)  # the .pt2 program, batch of 5 (traced on 4)
        assert torch.allclose(encode(x) if logvar is None else encode(x)[0], mu, atol=1e-6)  # (mu, logvar); an AE: z
        x_hat, _, _ = vae(x)
        if forward:
            assert torch.export.load(str(tmp_path / "vae.pt2")).module()(x)[0].shape == x.shape
    assert x_hat.shape == x.shape and 0 <= x_hat.min() and x_hat.max() <= 1
    if logvar is None:  # a plain autoencoder decodes its code, no sampling
        assert torch.allclose(x_hat, torch.sigmoid(model.decode(mu)))


@pytest.mark.parametrize("config", [{"depth": 2, "width": 8, "latent_dim": 8},
                                    {"depth": 2, "width": 8, "latent_dim": 8, "loss": "hinge", "norm_d": "spectral"}])
def test_scripted_gan_matches_generator_and_discriminator(tmp_path, config):
    torch.manual_seed(0)
    fam = FAMILIES["gan"]
    cfg = fam.make_config(config)
    gan = fam.build(cfg)
    gan.train()
    gan.discriminator(torch.randn(4, 1, 28, 28))  # one power iteration: spectral norm's vectors move
    gan.eval()
    names, _ = models.write(gan, cfg, "gan", tmp_path)
    assert names == ["generator.pt2", "discriminator.pt2", "generator.pt", "discriminator.pt", "transforms.py"]
    g, d = torch.jit.load(str(tmp_path / "generator.pt")), torch.jit.load(str(tmp_path / "discriminator.pt"))
    g2 = torch.export.load(str(tmp_path / "generator.pt2")).module()
    d2 = torch.export.load(str(tmp_path / "discriminator.pt2")).module()
    z = torch.randn(6, 8)
    with torch.no_grad():
        images = g(z)  # in [0, 1]: the generator's [-1, 1] mapped for display
        assert torch.allclose(images, (gan.generator(z) + 1) / 2) and torch.allclose(g(z[:, :, None, None]), images)
        scored = images * 2 - 1  # the discriminator takes [-1, 1], as it trained
        assert torch.allclose(d(scored), gan.discriminator(scored), atol=1e-6) and d(scored).shape == (6,)
        assert torch.allclose(gan.discriminator(scored), d(scored), atol=1e-6)  # the trained model is untouched
        assert torch.allclose(g2(z), images, atol=1e-6) and torch.allclose(d2(scored), d(scored), atol=1e-5)


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
