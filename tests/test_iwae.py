"""The importance-weighted NLL estimator against a model whose marginal likelihood is known in closed form,
and against the genstudy VAE's own ELBO.

The closed-form model is linear-Gaussian: p(z) = N(0, I_D), p(x|z) = N(Wz + b, sigma^2 I_d), so
p(x) = N(b, W W^T + sigma^2 I). W has orthogonal columns (W = Q diag(s)), which makes the exact posterior
p(z|x) diagonal: N(m, diag(S)) with S_j = 1 / (1 + s_j^2 / sigma^2) and m = S * s * Q^T (x - b) / sigma^2,
so a diagonal-Gaussian encoder can be exactly right, or wrong by a known shift and scale. The module
speaks the API the estimator uses and goes through the real ``gaussian`` likelihood of
``trainables.losses.vae`` (mean = sigmoid(logits)): its decoder returns logit(Wz + b), and W is small
enough that Wz + b stays inside (0, 1) for every z the tests draw (|Wz| < 0.5 needs |z| < ~7 here).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainables.iwae import IWAE_TABLE1, estimate_nll, iwae_log_likelihood, subset_indices
from trainables.models.vae import build_vae
from trainables.vae import loss_terms
from trainables.vae_config import VAEConfig

SHAPE = (1, 2, 3)  # d = 6 pixels
D, SIGMA, B0 = 2, 0.02, 0.5
S_DIAG = torch.tensor([0.06, 0.03], dtype=torch.float64)  # posterior precision 1 + s^2/sigma^2 = 10 and 3.25
SHIFT, SCALE = 1.0, 2.0  # the poor q: mean off by 1 posterior sd, variance 2x the posterior's


class LinearGaussianVAE(nn.Module):
    """Linear-Gaussian latent model with a diagonal-Gaussian q(z|x) = N(m + shift sqrt(S), scale S)."""

    deterministic = False

    def __init__(self, shift: float = 0.0, scale: float = 1.0):
        super().__init__()
        d = math.prod(SHAPE)
        q, _ = torch.linalg.qr(torch.randn(d, D, generator=torch.Generator().manual_seed(7), dtype=torch.float64))
        self.register_buffer("W", q * S_DIAG)  # (d, D), orthogonal columns of norms s
        self.register_buffer("b", torch.full((d,), B0, dtype=torch.float64))
        self.log_scale = nn.Parameter(torch.full((1, 1, 1), math.log(SIGMA), dtype=torch.float64))
        self.shift, self.scale = shift, scale

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact p(z|x): mean (B, D) and diagonal variance (D,)."""
        var = 1.0 / (1.0 + S_DIAG**2 / SIGMA**2)
        mean = var * ((x.flatten(1) - self.b) @ self.W) / SIGMA**2
        return mean, var

    def encode(self, x):
        mean, var = self.posterior(x)
        return mean + self.shift * var.sqrt(), torch.log(self.scale * var).expand_as(mean)

    def decode(self, z):
        return torch.logit(z @ self.W.T + self.b).view(-1, *SHAPE)

    def likelihood_params(self):
        return {"log_scale": self.log_scale}

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        cov = self.W @ self.W.T + SIGMA**2 * torch.eye(len(self.b), dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x.flatten(1))

    def nelbo(self, x: torch.Tensor) -> torch.Tensor:
        """-ELBO of its q in closed form: -(E_q log p(x|z) + E_q log p(z) + H(q))."""
        mu, logvar = self.encode(x)
        v = logvar.exp()
        d = len(self.b)
        resid = x.flatten(1) - self.b - mu @ self.W.T
        e_log_px_z = -0.5 * d * math.log(2 * math.pi * SIGMA**2) - (resid.pow(2).sum(1) + (S_DIAG**2 * v).sum(1)) / (2 * SIGMA**2)
        e_log_pz = -0.5 * D * math.log(2 * math.pi) - 0.5 * (mu.pow(2) + v).sum(1)
        entropy = 0.5 * (torch.log(2 * math.pi * math.e * v)).sum(1)
        return -(e_log_px_z + e_log_pz + entropy)


def chi2_plus_one(shift: float, scale: float) -> float:
    """E_q[(p(z|x)/q(z))^2] for q = N(shift, scale) against p = N(0, 1) per dimension, over D dimensions:
    sqrt(c / (2a)) exp(delta^2 / (2c) + delta^2 / (4 a c^2)) with a = 1 - 1/(2c) (finite for c > 1/2)."""
    c, delta = scale, shift
    a = 1.0 - 1.0 / (2.0 * c)
    return (math.sqrt(c / (2 * a)) * math.exp(delta**2 / (2 * c) + delta**2 / (4 * a * c**2))) ** D


def images(n: int = 8) -> torch.Tensor:
    """n draws of x from p(x) itself (so the posterior is typical), all inside [0, 1]."""
    model = LinearGaussianVAE()
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(n, D, generator=gen, dtype=torch.float64)
    x = z @ model.W.T + model.b + SIGMA * torch.randn(n, math.prod(SHAPE), generator=gen, dtype=torch.float64)
    assert 0 < x.min() and x.max() < 1
    return x.view(n, *SHAPE)


@pytest.mark.parametrize("k,chunk", [(1, 4096), (7, 4096), (100, 56), (5000, 4096)])  # 56 // 8 = 7 does not divide 100
def test_exact_posterior_gives_log_marginal_for_any_k(k, chunk):
    # with q = p(z|x) every weight p(x, z)/q(z|x) equals p(x): zero variance, the estimate is log p(x)
    model, x = LinearGaussianVAE(), images()
    est = iwae_log_likelihood(model, x, "gaussian", k=k, chunk=chunk, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(est, model.log_marginal(x), atol=1e-7, rtol=0)


def test_poor_q_k1_is_the_elbo_in_expectation():
    # k = 1: log w = log p(x|z) + log p(z) - log q(z|x) with z ~ q, whose mean is the ELBO (closed form here)
    model, x = LinearGaussianVAE(SHIFT, SCALE), images()
    reps = 1000
    nll, _ = estimate_nll(model, x.repeat(reps, 1, 1, 1), "gaussian", k=1, batch=8000, seed=1)
    dev = nll.view(reps, -1) - model.nelbo(x)  # (reps, 8)
    assert abs(dev.mean().item()) < 4 * dev.std().item() / math.sqrt(dev.numel())
    assert (model.nelbo(x) - (-model.log_marginal(x))).min() > 1.0  # the gap k must close is > 1 nat
    # the importance weights themselves: w / p(x) has mean 1 (unbiased for p(x)) and E[(w/p)^2] - 1 = rho,
    # the chi-square divergence the k = 5000 tolerance below is built on (closed form 1.597)
    r = torch.exp(-nll.view(reps, -1) - model.log_marginal(x))  # (reps, 8) w / p(x)
    rho = chi2_plus_one(SHIFT, SCALE) - 1.0
    assert abs(r.mean().item() - 1.0) < 4 * math.sqrt(rho / r.numel())
    assert r.pow(2).mean().item() - 1.0 == pytest.approx(rho, rel=0.15)


def test_poor_q_bound_tightens_with_k_and_reaches_the_truth_at_5000():
    model, x = LinearGaussianVAE(SHIFT, SCALE), images()
    true_nll = -model.log_marginal(x)
    gaps = {}
    for k, reps in ((1, 500), (10, 500), (100, 100), (5000, 8)):
        # one decoder pass holds all k samples of every image (chunk = k x images), so a z reused across a
        # pass's samples cannot hide behind chunk boundaries
        nll, _ = estimate_nll(model, x.repeat(reps, 1, 1, 1), "gaussian", k=k, chunk=k * 8 * reps, batch=8 * reps, seed=k)
        dev = nll.view(reps, -1) - true_nll  # (reps, 8) estimate minus truth
        se = dev.std().item() / math.sqrt(dev.numel())
        assert dev.mean().item() > -4 * se, f"k={k}: the estimate fell below the true NLL (it is an upper bound)"
        gaps[k] = (dev.mean().item(), se, dev.numel())
    assert gaps[1][0] > gaps[10][0] + 4 * gaps[10][1] > gaps[100][0] + 4 * gaps[100][1]
    # Tolerance at k = 5000: for large k, log((1/k) sum w_i / p(x)) is about normal with mean -rho/(2k) and
    # variance rho/k (delta method), where rho = chi^2(p(z|x) || q) = E_q[(w/p)^2] - 1, here in closed form
    # (about 1.6). Over n estimates the mean deviation is rho/(2k) +- sqrt(rho/(k n)): allow 4 standard errors.
    rho, k = chi2_plus_one(SHIFT, SCALE) - 1.0, 5000
    mean_dev, _, n = gaps[5000]
    tol = rho / (2 * k) + 4 * math.sqrt(rho / (k * n))  # n = 64: 0.0002 + 0.0089 nats
    assert abs(mean_dev) < tol, f"k=5000 estimate off the true NLL by {mean_dev:.4f} nats (tolerance {tol:.4f})"
    assert gaps[1][0] > 40 * tol  # the k = 1 gap (1.3 nats) is far outside it: the test can fail


@pytest.fixture(scope="module")
def mnist_test_images(mnist_root):
    from trainables.data import load_dataset
    from trainables.data.binarize import binarize_eval
    from trainables.images import uint8_to_float

    grey = torch.from_numpy(load_dataset("mnist", mnist_root).x_test[:16])
    return {"bernoulli": uint8_to_float(binarize_eval(grey, "dynamic", "test")), "gaussian": uint8_to_float(grey)}


def _nelbo_per_image(model, x, likelihood, reps=400):
    """The genstudy VAE's own NELBO (loss_terms: sampled recon + analytic KL) per image, averaged over reps draws."""
    with torch.no_grad():
        recon, kl = loss_terms(model.eval(), x.repeat(reps, 1, 1, 1), likelihood, torch.Generator().manual_seed(5))
    nelbo = (recon + kl).double().view(reps, len(x))
    return nelbo.mean(0), nelbo.std(0) / math.sqrt(reps)


@pytest.mark.parametrize("likelihood,arch", [("bernoulli", "mlp"), ("gaussian", "mlp"), ("bernoulli", "conv")])
def test_genstudy_vae_iwae_below_its_nelbo(mnist_test_images, likelihood, arch, torch_one_thread):
    torch.manual_seed(0)  # random weights
    cfg = VAEConfig(arch=arch, width=64 if arch == "mlp" else 8, depth=1 if arch == "mlp" else 2, latent_dim=8,
                    likelihood=likelihood)
    model, x = build_vae(cfg, (1, 28, 28)), mnist_test_images[likelihood]
    nelbo, nelbo_se = _nelbo_per_image(model, x, likelihood)
    nll, result = estimate_nll(model, x, likelihood, k=1000, seed=0)
    assert (nll <= nelbo + 4 * nelbo_se).all()
    assert result.nll < nelbo.mean().item() - 0.1  # strictly tighter: random encoders are far from p(z|x)
    # k = 1 is the same bound as the training loss: equal to loss_terms' NELBO in expectation
    reps = 200
    nll1, _ = estimate_nll(model, x.repeat(reps, 1, 1, 1), likelihood, k=1, batch=800, seed=2)
    dev = nll1.view(reps, -1) - nelbo
    se = math.sqrt(dev.var().item() / dev.numel() + nelbo_se.pow(2).mean().item())
    assert abs(dev.mean().item()) < 4 * se


def test_result_summarises_the_per_image_values():
    model, x = LinearGaussianVAE(SHIFT, SCALE), images()
    nll, result = estimate_nll(model, x, "gaussian", k=50, batch=3, seed=0)
    assert (result.k, result.n, result.binary_pixels) == (50, 8, False)
    assert result.nll == pytest.approx(nll.mean().item())
    assert result.stderr == pytest.approx(nll.std().item() / math.sqrt(8))
    again, _ = estimate_nll(model, x, "gaussian", k=50, batch=3, seed=0)
    other, _ = estimate_nll(model, x, "gaussian", k=50, batch=3, seed=1)
    assert torch.equal(nll, again) and not torch.equal(nll, other)
    _, one = estimate_nll(model, x[:1], "gaussian", k=5)
    assert one.stderr == 0.0
    binary = (torch.rand(4, 1, 28, 28) < 0.5).float()
    vae = build_vae(VAEConfig(arch="mlp", width=16, depth=1, latent_dim=2), (1, 28, 28))
    assert estimate_nll(vae, binary, "bernoulli", k=3)[1].binary_pixels


def test_deterministic_autoencoder_is_refused():
    ae = build_vae(VAEConfig(arch="mlp", width=16, depth=1, latent_dim=4, deterministic=True, beta=0.0), (1, 28, 28))
    with pytest.raises(ValueError, match="deterministic autoencoder"):
        estimate_nll(ae, torch.rand(2, 1, 28, 28), "bernoulli", k=2)

    class NoVarianceEncoder(LinearGaussianVAE):  # no `deterministic` flag, but no q(z|x) variance either
        deterministic = None

        def encode(self, x):
            return super().encode(x)[0], None

    with pytest.raises(ValueError, match="deterministic autoencoder"):
        estimate_nll(NoVarianceEncoder(), images(), "gaussian", k=2)


@pytest.mark.parametrize("bad,match", [
    (dict(x=torch.zeros(2, 1, 28, 28, dtype=torch.uint8)), "float"),
    (dict(x=torch.full((2, 1, 28, 28), 2.0)), r"\[0, 1\]"),
    (dict(likelihood="poisson"), "likelihood"),
    (dict(k=0), "k and chunk"),
])
def test_bad_arguments_are_named(bad, match):
    vae = build_vae(VAEConfig(arch="mlp", width=16, depth=1, latent_dim=2), (1, 28, 28))
    args = dict(x=torch.rand(2, 1, 28, 28), likelihood="bernoulli", k=2) | bad
    with pytest.raises(ValueError, match=match):
        estimate_nll(vae, args["x"], args["likelihood"], k=args["k"])


def test_estimator_restores_training_mode():
    vae = build_vae(VAEConfig(arch="mlp", width=16, depth=1, latent_dim=2, dropout=0.5), (1, 28, 28)).train()
    estimate_nll(vae, torch.rand(2, 1, 28, 28), "bernoulli", k=2)
    assert vae.training


def test_subset_is_a_fixed_random_sample():
    idx = subset_indices(10_000, 500)
    assert torch.equal(idx, subset_indices(10_000, 500)) and not torch.equal(idx, subset_indices(10_000, 500, seed=1))
    assert len(idx.unique()) == 500 and 0 <= idx.min() and idx.max() < 10_000 and torch.equal(idx, idx.sort().values)
    assert (idx < 5000).sum().item() == pytest.approx(250, abs=4 * 11)  # a random half-split: sd sqrt(500/4) = 11
    assert torch.equal(subset_indices(10, None), torch.arange(10)) and torch.equal(subset_indices(10, 20), torch.arange(10))


def test_paper_table_is_whole():
    # twelve MNIST cells: {VAE, IWAE} x {1, 2} stochastic layers x training k in {1, 5, 50}; k = 1 is the same model
    assert {key for key in IWAE_TABLE1} == {(m, layers, k) for m in ("VAE", "IWAE") for layers in (1, 2) for k in (1, 5, 50)}
    for layers in (1, 2):
        assert IWAE_TABLE1[("VAE", layers, 1)] == IWAE_TABLE1[("IWAE", layers, 1)]
        assert IWAE_TABLE1[("IWAE", layers, 50)] < IWAE_TABLE1[("IWAE", layers, 5)] < IWAE_TABLE1[("IWAE", layers, 1)]
