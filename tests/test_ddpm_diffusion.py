"""Diffusion maths: schedules, forward noising against its closed form, DDIM against diffusers and
its determinism at eta = 0, the sinusoidal embedding, slerp."""

import math

import numpy as np
import pytest
import torch

from trainables.diffusion import (SCHEDULES, alphas_cumprod, cosine_betas, ddim_sample, ddim_step, ddim_timesteps,
                                  linear_betas, q_sample, slerp)
from trainables.losses.ddpm import LOSS_WEIGHTS, MIN_SNR_GAMMA, snr
from trainables.models.unet import timestep_embedding
from tests.ddpm_support import one_thread  # noqa: F401 - autouse fixture


def test_linear_schedule_is_ho_et_al():
    betas = linear_betas(1000)
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02) and len(betas) == 1000
    abar = np.cumprod(1 - betas)
    assert abar[-1] == pytest.approx(4.036e-5, rel=1e-3)  # ᾱ_T of Ho et al.'s schedule: x_T is almost pure noise


@pytest.mark.parametrize("name,diffusers_name", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
def test_schedules_match_diffusers(name, diffusers_name):
    from diffusers import DDPMScheduler

    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule=diffusers_name)
    assert np.allclose(SCHEDULES[name](1000), ref.betas.double().numpy(), rtol=1e-5, atol=1e-7)
    assert torch.allclose(alphas_cumprod(name, 1000), ref.alphas_cumprod.float(), rtol=1e-4, atol=1e-7)


def test_cosine_schedule_closed_form():
    # Nichol & Dhariwal: ᾱ_t = f(t) / f(0), f(t) = cos²((t/T + s)/(1 + s) π/2); the clip at 0.999 only bites at the end
    T, s = 1000, 0.008
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    abar = np.cumprod(1 - cosine_betas(T))
    for t in (0, 10, 500, 900):
        assert abar[t] == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert cosine_betas(T).max() == pytest.approx(0.999)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_forward_noising_matches_its_closed_form(schedule):
    """Running x_k = sqrt(1 - β_k) x_{k-1} + sqrt(β_k) ε_k for k = 0..t gives the closed form
    q(x_t | x_0) = N(sqrt(ᾱ_t) x_0, (1 - ᾱ_t) I) that q_sample draws from: the step-by-step moments
    exactly at every t, and simulated chains in distribution."""
    betas = torch.from_numpy(SCHEDULES[schedule](1000))
    abar = torch.from_numpy(np.cumprod(1 - SCHEDULES[schedule](1000)))  # the closed form, float64
    assert torch.allclose(alphas_cumprod(schedule, 1000).double(), abar, rtol=1e-6, atol=1e-8)  # what training uses
    mean_scale, var = torch.ones((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    for k in range(1000):  # E[x_k] = sqrt(1 - β_k) E[x_{k-1}], Var[x_k] = (1 - β_k) Var[x_{k-1}] + β_k
        mean_scale, var = (1 - betas[k]).sqrt() * mean_scale, (1 - betas[k]) * var + betas[k]
        if k in (0, 9, 249, 999):
            assert float(mean_scale) == pytest.approx(float(abar[k].sqrt()), rel=1e-5)
            assert float(var) == pytest.approx(float(1 - abar[k]), rel=1e-5, abs=1e-9)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.tensor([0.9, -0.5, 0.0, 1.0], dtype=torch.float64)
    n, t = 20_000, 99
    x = x0.expand(n, -1).clone()
    for k in range(t + 1):
        x = (1 - betas[k]).sqrt() * x + betas[k].sqrt() * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    a = float(abar[t])
    se = math.sqrt((1 - a) / n)
    assert torch.allclose(x.mean(0), math.sqrt(a) * x0, atol=5 * se)
    assert torch.allclose(x.var(0), torch.full((4,), 1 - a, dtype=torch.float64), rtol=0.05)
    # q_sample is the closed form applied to given noise, per image
    noise = torch.randn(3, 4, 1, 1, generator=gen)
    images = x0.float().view(1, 4, 1, 1).expand(3, -1, -1, -1)
    steps = torch.tensor([t, 0, 999])
    out = q_sample(images, steps, noise, abar.float())
    expected = torch.stack([abar[s].sqrt() * x0 + (1 - abar[s]).sqrt() * noise[i].view(4).double()
                            for i, s in enumerate(steps)]).view(3, 4, 1, 1)
    assert torch.allclose(out, expected.float(), atol=1e-6)


def test_ddim_timesteps_are_the_uniform_skip():
    assert ddim_timesteps(1000, 50) == list(range(0, 1000, 20))  # ermongroup/ddim's skip_type=uniform
    assert ddim_timesteps(1000, 1000) == list(range(1000))
    assert len(ddim_timesteps(1000, 30)) == 30 and ddim_timesteps(1000, 30)[-1] == 29 * 33


def _model(x, t):
    """A fixed stand-in for ε_θ: smooth in x and t, not the true noise."""
    return 0.3 * torch.tanh(x) + 0.01 * torch.sin(t.float()).view(-1, 1, 1, 1)


@pytest.mark.parametrize("schedule,diffusers_name", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_sampler_matches_diffusers_step_by_step(schedule, diffusers_name, eta):
    from diffusers import DDIMScheduler

    steps = 20
    ref = DDIMScheduler(num_train_timesteps=1000, beta_schedule=diffusers_name, clip_sample=True,
                        set_alpha_to_one=True, steps_offset=0, timestep_spacing="leading")
    ref.set_timesteps(steps)
    assert ref.timesteps.tolist() == ddim_timesteps(1000, steps)[::-1]
    x_T = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    ours = ddim_sample(_model, x_T, alphas_cumprod(schedule, 1000), steps, eta, torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(7)  # the same per-step noise, drawn in the same order
    x = x_T.clone()
    for t in ref.timesteps:
        noise = torch.randn(x.shape, generator=gen) if eta > 0 else None
        tt = torch.full((4,), int(t))
        x = ref.step(_model(x, tt), int(t), x, eta=eta, use_clipped_model_output=True, variance_noise=noise).prev_sample
    assert torch.allclose(ours, x, atol=2e-4), (ours - x).abs().max()


def test_ddim_is_deterministic_at_eta_0_and_not_above():
    abar = alphas_cumprod("linear", 1000)
    x_T = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    a = ddim_sample(_model, x_T, abar, 25, 0.0)
    torch.manual_seed(123)  # the global RNG plays no part
    b = ddim_sample(_model, x_T, abar, 25, 0.0, torch.Generator().manual_seed(99))
    assert torch.equal(a, b)
    c = ddim_sample(_model, x_T, abar, 25, 1.0, torch.Generator().manual_seed(1))
    d = ddim_sample(_model, x_T, abar, 25, 1.0, torch.Generator().manual_seed(2))
    assert not torch.allclose(c, d)
    assert a.min() >= -1 and a.max() <= 1


@pytest.mark.parametrize("steps", [1, 10, 100])
def test_ddim_with_the_exact_noise_recovers_a_point_mass(steps):
    """For data that is one image x*, ε(x_t, t) = (x_t - sqrt(ᾱ_t) x*) / sqrt(1 - ᾱ_t) exactly; DDIM then
    returns x* from any start, in any number of steps."""
    abar = alphas_cumprod("cosine", 1000)
    target = torch.linspace(-0.9, 0.9, 16).view(1, 1, 4, 4)

    def oracle(x, t):
        a = abar[t].view(-1, 1, 1, 1)
        return (x - a.sqrt() * target) / (1 - a).sqrt()

    x_T = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ddim_sample(oracle, x_T, abar, steps), target.expand(3, -1, -1, -1), atol=1e-4)


def test_ddim_step_without_noise_is_eq_12():
    x, eps = torch.full((1, 1, 1, 1), 0.4), torch.full((1, 1, 1, 1), 0.2)
    a_t, a_prev = torch.tensor(0.5), torch.tensor(0.8)
    out, x0 = ddim_step(x, eps, a_t, a_prev, 0.0, None)
    expected_x0 = (0.4 - math.sqrt(0.5) * 0.2) / math.sqrt(0.5)
    assert x0.item() == pytest.approx(expected_x0)
    assert out.item() == pytest.approx(math.sqrt(0.8) * expected_x0 + math.sqrt(0.2) * 0.2, rel=1e-6)


def test_timestep_embedding_is_sinusoidal():
    emb = timestep_embedding(torch.tensor([0, 1, 500]), 16)
    assert emb.shape == (3, 16)
    assert torch.allclose(emb[0], torch.cat([torch.zeros(8), torch.ones(8)]))
    freqs = torch.exp(-math.log(10_000) * torch.arange(8) / 7)  # Ho et al.: log(10000) / (half - 1)
    assert torch.allclose(emb[2], torch.cat([torch.sin(500 * freqs), torch.cos(500 * freqs)]), atol=1e-5)
    assert timestep_embedding(torch.tensor([3]), 7).shape == (1, 7)


def test_slerp_keeps_the_endpoints_and_the_norm():
    gen = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(3, 16, 16, generator=gen), torch.randn(3, 16, 16, generator=gen)
    path = slerp(z0, z1, torch.linspace(0, 1, 9))
    assert path.shape == (9, 3, 16, 16)
    assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    norms = path.flatten(1).norm(dim=1)  # nearly orthogonal Gaussian vectors of similar norm: slerp stays on the shell
    assert (norms / z0.norm()).min() > 0.9 and (norms / z0.norm()).max() < 1.1
    linear_mid = (0.5 * (z0 + z1)).norm()
    assert path[4].norm() > 1.3 * linear_mid  # where a straight line would shrink by about 1/sqrt(2)


def test_min_snr_weight_caps_the_clean_steps_only():
    abar = alphas_cumprod("linear", 1000)
    s = snr(abar)
    assert s[0].item() == pytest.approx(abar[0].item() / (1 - abar[0].item()))
    w = LOSS_WEIGHTS["min_snr"](s)
    noisy = s <= MIN_SNR_GAMMA
    assert torch.equal(w[noisy], torch.ones(int(noisy.sum())))  # SNR <= 5: plain L_simple
    assert torch.allclose(w[~noisy], MIN_SNR_GAMMA / s[~noisy])  # SNR > 5: gamma / SNR, below 1
    assert 0 < w[0] < 1e-3 and noisy.sum() > 500  # the first (near-clean) step is weighted almost away
    assert torch.equal(LOSS_WEIGHTS["simple"](s), torch.ones(1000))
