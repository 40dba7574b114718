"""``torch.export`` programs: every family's exports run in an interpreter without genstudy, at any batch size."""

import subprocess
import sys

import pytest
import torch

from trainables.data.small import load_synthetic
from trainables.export import Exportable, save_program
from trainables.families import FAMILIES
from trainables.gan_config import GANConfig
from trainables.vae import loss_terms
from trainables.vae_config import VAEConfig

torch.set_num_threads(1)

# Load every .pt2 named on the command line with genstudy unimportable; run each on the saved inputs
# (a batch of 3: the examples had 4) and save the outputs beside it.
RUN_ALONE = """
import sys
sys.modules["trainables"] = None
import torch
for path in sys.argv[1:]:
    inputs = torch.load(path + ".in")
    torch.manual_seed(0)  # the VAE's negative ELBO draws its posterior noise from the global generator
    out = torch.export.load(path).module()(*inputs)
    torch.save(out if isinstance(out, tuple) else (out,), path + ".out")
"""

CASES = {
    "vae_mlp": VAEConfig(dataset="synthetic", arch="mlp", depth=2, width=32, latent_dim=4, batchnorm=True, dropout=0.1),
    "vae_conv": VAEConfig(dataset="synthetic", arch="conv", depth=2, width=8, latent_dim=3),
    "ae_conv": VAEConfig(dataset="synthetic", arch="conv", depth=2, width=8, latent_dim=5, deterministic=True,
                         beta=0.0),
    "gan": GANConfig(dataset="synthetic", depth=2, width=8, latent_dim=6),
}


def _exports(cfg):
    family = FAMILIES["gan" if isinstance(cfg, GANConfig) else "vae"]
    torch.manual_seed(0)
    model = family.build(cfg).eval()
    return family.publish(model, cfg, load_synthetic())


def test_every_program_runs_without_genstudy_at_another_batch_size(tmp_path):
    programs = {}
    for case, cfg in CASES.items():
        exports = _exports(cfg)
        programs |= {f"{case}-{name}": ex for name, ex in {"model": exports.model, **exports.programs}.items()}
    for name, ex in programs.items():
        save_program(ex, tmp_path / f"{name}.pt2")
        torch.save(tuple(torch.rand(3, *t.shape[1:]) for t in ex.example), tmp_path / f"{name}.pt2.in")
    p = subprocess.run([sys.executable, "-c", RUN_ALONE, *(str(tmp_path / f"{n}.pt2") for n in programs)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    for name, ex in programs.items():
        out = torch.load(tmp_path / f"{name}.pt2.out")
        torch.manual_seed(0)
        with torch.no_grad():
            expected = ex.module(*torch.load(tmp_path / f"{name}.pt2.in"))
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert len(out) == len(ex.outputs) == len(expected), name
        for got, want in zip(out, expected):
            assert got.shape[0] == 3 and torch.allclose(got, want, atol=1e-5), name


def test_vae_exports_compute_the_models_own_values():
    cfg = CASES["vae_conv"]
    exports = _exports(cfg)
    scorer = exports.model.module
    vae = scorer.vae
    x = torch.rand(5, 1, 28, 28)
    torch.manual_seed(3)
    nelbo = scorer(x)
    torch.manual_seed(3)
    recon, kl = loss_terms(vae, x, cfg.likelihood)
    assert nelbo.shape == (5,) and torch.allclose(nelbo, recon + kl) and (kl > 0).all()
    mu, logvar = exports.programs["encoder"].module(x)
    assert torch.equal(mu, vae.encode(x)[0]) and torch.equal(logvar, vae.encode(x)[1])
    images = exports.programs["decoder"].module(mu)
    assert images.shape == (5, 1, 28, 28) and torch.allclose(images, torch.sigmoid(vae.decode(mu)))
    assert exports.model.example[0].dtype == torch.float32 and 0 <= exports.model.example[0].min()
    assert exports.model.example[0].max() <= 1


def test_autoencoder_scores_its_reconstruction_loss():
    cfg = CASES["ae_conv"]
    exports = _exports(cfg)
    x = torch.rand(3, 1, 28, 28)
    recon, kl = loss_terms(exports.model.module.vae, x, cfg.likelihood)
    assert torch.equal(kl, torch.zeros(3)) and torch.allclose(exports.model.module(x), recon)
    assert exports.programs["encoder"].outputs == ("z",)


def test_gan_program_is_the_generator_in_unit_range():
    exports = _exports(CASES["gan"])
    assert exports.model is exports.programs["generator"]
    images = exports.model.module(torch.randn(7, 6))
    assert images.shape == (7, 1, 28, 28) and 0 <= images.min() and images.max() <= 1


def test_a_batch_of_one_example_is_refused():
    with pytest.raises(ValueError, match="at least 2 rows"):
        Exportable(torch.nn.Identity(), (torch.zeros(1, 3),), ("x",), ("y",), "x -> x")
