"""The GAN training step against its definitions, on tiny networks: the gradient penalty's weight, one-sided
label smoothing and instance noise as D sees them, n_critic D steps per G step, the generator's weight average
(and that it is what is scored), and the two learning rates of TTUR reaching their networks."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from trainables import metric_names as M
from trainables.data import load_dataset
from trainables.device import seed_everything
from trainables.families import FAMILIES, restore_model
from trainables.gan import _scored, _train_span
from trainables.gan_config import GANConfig
from trainables.models.gan import build_gan

SHAPE = (1, 8, 8)
TINY = dict(dataset="synthetic", depth=1, width=4, latent_dim=4, batch_size=16, norm_g="none", norm_d="none", g_ema=0.0)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _images(n=32, seed=1):
    return torch.randint(0, 256, (n, *SHAPE), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


class Span:
    """``end`` D steps of the training loop's ``_train_span`` from step 0, on fresh (seeded) networks or on ``gan``;
    hooks can be put on the networks and optimisers before ``run``."""

    def __init__(self, cfg: GANConfig, x_train, end: int, gan=None, ema=None):
        torch.manual_seed(0)
        self.cfg, self.x_train, self.end = cfg, x_train, end
        self.gan, self.ema = gan or build_gan(cfg, SHAPE), ema
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.gan.generator.parameters(), lr=cfg.lr_generator, betas=betas)
        self.opt_d = torch.optim.Adam(self.gan.discriminator.parameters(), lr=cfg.lr_discriminator, betas=betas)
        self.state = {"report": 0, "step": 0, "d_won_streak": 0, "g_steps": 0}

    def run(self) -> dict[str, float]:
        """The span's mean losses and D scores (each D step's loss is taken before D moves)."""
        return _train_span(self.gan, self.ema, self.opt_g, self.opt_d, self.x_train, self.cfg, self.state, self.end,
                           self.end)


def test_gp_lambda_weights_the_penalty_in_the_d_loss():
    # leaky_slope 1: D is linear, so its input gradient is one vector w and the penalty is exactly (|w| - 1)^2
    cfg = GANConfig(**TINY, loss="wgan_gp", gp_lambda=10.0, leaky_slope=1.0)
    span = Span(cfg, _images(), end=1)
    x = torch.zeros(1, *SHAPE, requires_grad=True)
    (w,) = torch.autograd.grad(span.gan.discriminator(x).sum(), x)
    penalty = (w.norm().item() - 1.0) ** 2
    assert 9 * penalty > 0.1  # weight 10 and weight 1 give D losses far apart
    out = span.run()
    assert out[M.LOSS_D] == pytest.approx(out[M.D_FAKE] - out[M.D_REAL] + 10.0 * penalty, rel=1e-5)


@pytest.mark.parametrize("loss", ["bce", "lsgan"])
def test_label_smoothing_reaches_the_d_loss(loss):
    cfg = GANConfig(**TINY, loss=loss, label_smoothing=0.2)
    gan = build_gan(cfg, SHAPE)
    with torch.no_grad():  # D scores every image 2.0
        for p in gan.discriminator.parameters():
            p.zero_()
        gan.discriminator.head.bias.fill_(2.0)
    span = Span(cfg, _images(), end=1, gan=gan)
    c = torch.tensor(2.0)
    if loss == "bce":  # BCE(c, 0.8) + BCE(c, 0): the real target is 1 - 0.2, the fake one stays 0
        expected = F.softplus(c) - 0.8 * c + F.softplus(c)
    else:  # 0.5 (c - 0.8)^2 + 0.5 c^2
        expected = 0.5 * (c - 0.8) ** 2 + 0.5 * c**2
    assert span.run()[M.LOSS_D] == pytest.approx(expected.item(), rel=1e-6)


def test_instance_noise_on_d_inputs_anneals_linearly_to_0():
    cfg = GANConfig(**{**TINY, "batch_size": 32}, instance_noise=0.5)
    span = Span(cfg, torch.zeros(32, *SHAPE, dtype=torch.uint8), end=4)  # real images: all -1
    d_in, g_out = [], []
    span.gan.discriminator.register_forward_pre_hook(lambda m, args: d_in.append(args[0].detach().clone()))
    span.gan.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach().clone()))
    span.run()
    # per D step: D(real + n), D(fake + n), and for the G step D(G(z') + n); sigma = 0.5 (1 - step / 4)
    assert len(d_in) == 12 and len(g_out) == 8
    for step in range(4):
        sigma = 0.5 * (1 - step / 4)
        noises = (d_in[3 * step] + 1, d_in[3 * step + 1] - g_out[2 * step], d_in[3 * step + 2] - g_out[2 * step + 1])
        for noise in noises:  # 2,048 values each: the standard deviation is within about 2% of sigma
            assert noise.std().item() == pytest.approx(sigma, rel=0.08), step
            assert abs(noise.mean().item()) < 0.1 * sigma


def test_n_critic_d_steps_per_g_step():
    cfg = GANConfig(**TINY, loss="wgan_gp", n_critic=3)
    span = Span(cfg, _images(), end=7)
    order = []
    span.opt_d.register_step_post_hook(lambda *a: order.append("D"))
    span.opt_g.register_step_post_hook(lambda *a: order.append("G"))
    out = span.run()
    assert "".join(order) == "DDDGDDDGD" and span.state["g_steps"] == 2 and span.state["step"] == 7
    assert M.LOSS_G in out


@pytest.mark.parametrize("g_ema", [0.9, 0.3])  # 0.9: the warm-up decides every step; 0.3: the decay from step 3
def test_ema_is_the_warmed_up_running_average_of_the_trained_generator(g_ema):
    cfg = GANConfig(**{**TINY, "g_ema": g_ema, "lr": 0.01})  # weights move ~0.01 a step: a wrong decay shows
    torch.manual_seed(0)
    gan = build_gan(cfg, SHAPE)
    ema = copy.deepcopy(gan.generator).requires_grad_(False)
    span = Span(cfg, _images(), end=5, gan=gan, ema=ema)
    trained = []  # the generator's weights after each of its steps
    span.opt_g.register_step_post_hook(
        lambda *a: trained.append([p.detach().clone() for p in gan.generator.parameters()]))
    expected = [p.detach().clone() for p in gan.generator.parameters()]  # the average starts at the initial weights
    span.run()
    assert len(trained) == span.state["g_steps"] == 5
    for n, weights in enumerate(trained, 1):
        decay = min(g_ema, (1 + n) / (10 + n))  # 2/11, 3/12, 4/13, ...
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights)]
    for e, got in zip(expected, ema.parameters()):
        assert torch.allclose(got, e, atol=1e-6)
    moved = sum((a - b).abs().sum() for a, b in zip(ema.parameters(), gan.generator.parameters()))
    assert moved > 1e-3  # the average lags the trained weights: it is not a copy of them


def test_scored_generator_is_the_average_with_the_trained_batch_norm_statistics():
    gan = build_gan(GANConfig(**{**TINY, "norm_g": "batch", "depth": 2}), SHAPE)
    ema = copy.deepcopy(gan.generator)
    with torch.no_grad():
        for p in ema.parameters():
            p.add_(1.0)
        for m in gan.generator.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.fill_(0.5)
                m.running_var.fill_(2.0)
    scored = _scored(gan, ema)
    assert scored.generator is ema and scored.discriminator is gan.discriminator
    for e, g in zip(ema.parameters(), gan.generator.parameters()):
        assert torch.allclose(e, g + 1.0)  # the average's weights, not the trained ones
    buffers = list(ema.buffers())
    assert buffers and all(torch.equal(e, g) for e, g in zip(buffers, gan.generator.buffers()))
    assert _scored(gan, None) is gan


def _fit_and_moves(lr_g: float, lr_d: float, tmp_path) -> tuple[float, float]:
    """Largest change of any generator and of any discriminator weight over a short fit."""
    cfg = GANConfig(dataset="synthetic", depth=2, width=4, latent_dim=4, batch_size=16, train_size=64, max_epochs=1,
                    eval_samples=2, g_ema=0.0, norm_g="none", norm_d="none", lr_g=lr_g, lr_d=lr_d)
    checkpoints = []
    FAMILIES["gan"].fit(cfg, lambda m, d: checkpoints.append(d), load_dataset("synthetic"), workdir=str(tmp_path))
    seed_everything(cfg.seed)
    init = build_gan(cfg, (1, 28, 28))  # fit builds its networks right after seeding
    trained, _ = restore_model(checkpoints[-1])
    moves = [max((a - b).abs().max().item() for a, b in zip(getattr(trained, part).parameters(),
                                                             getattr(init, part).parameters()))
             for part in ("generator", "discriminator")]
    return moves[0], moves[1]


def test_ttur_learning_rates_reach_their_networks(tmp_path):
    # Adam moves a weight by about lr per step whatever the gradient's scale: 4 steps of 1e-9 stay below 1e-7
    g, d = _fit_and_moves(1e-9, 1e-2, tmp_path / "a")
    assert g < 1e-7 < 1e-3 < d
    g, d = _fit_and_moves(1e-2, 1e-9, tmp_path / "b")
    assert d < 1e-7 < 1e-3 < g
    assert math.isclose(GANConfig(lr=1e-3, lr_d=4e-3).lr_discriminator, 4e-3)
    assert GANConfig(lr=1e-3, lr_d=4e-3).lr_generator == 1e-3
