"""Adversarial losses against known values."""

import math

import pytest
import torch

from trainables.losses.gan import D_LOSSES, D_WON, G_LOSSES, gradient_penalty, mean_score

BIG = 50.0  # a logit this large is a certain decision: sigmoid(50) = 1 - 2e-22


def test_registries_cover_every_loss():
    assert set(D_LOSSES) == set(G_LOSSES) == set(D_WON) == {"bce", "lsgan", "wgan_gp", "hinge"}


def test_bce_perfect_discriminator_has_zero_loss_and_chance_level_is_2_log_2():
    ones = torch.ones(8)
    assert D_LOSSES["bce"](BIG * ones, -BIG * ones).item() == pytest.approx(0.0, abs=1e-12)
    assert D_LOSSES["bce"](0 * ones, 0 * ones).item() == pytest.approx(2 * math.log(2))
    assert G_LOSSES["bce"](0 * ones).item() == pytest.approx(math.log(2))  # -log sigmoid(0)
    assert G_LOSSES["bce"](BIG * ones).item() == pytest.approx(0.0, abs=1e-12)  # non-saturating: fooled D


def test_bce_one_sided_label_smoothing():
    # real target 0.9: the loss is minimised at sigmoid(real) = 0.9, where it is the entropy H(0.9)
    real = torch.full((4,), math.log(0.9 / 0.1))
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert D_LOSSES["bce"](real, torch.full((4,), -BIG), real_label=0.9).item() == pytest.approx(h, rel=1e-6)
    # fakes keep target 0 (one-sided): smoothing leaves the fake term alone
    assert D_LOSSES["bce"](torch.full((4,), BIG), torch.zeros(4), real_label=0.9).item() == pytest.approx(
        0.1 * BIG + math.log(2), rel=1e-6)


def test_lsgan_perfect_discriminator_has_loss_0():
    assert D_LOSSES["lsgan"](torch.ones(5), torch.zeros(5)).item() == 0.0
    assert D_LOSSES["lsgan"](torch.full((5,), 0.9), torch.zeros(5), real_label=0.9).item() == 0.0
    assert D_LOSSES["lsgan"](torch.zeros(5), torch.ones(5)).item() == pytest.approx(1.0)  # 0.5 + 0.5
    assert G_LOSSES["lsgan"](torch.ones(5)).item() == 0.0 and G_LOSSES["lsgan"](torch.zeros(5)).item() == 0.5


def test_wgan_is_the_negated_mean_difference():
    real, fake = torch.tensor([3.0, 5.0]), torch.tensor([-1.0, 1.0])
    assert D_LOSSES["wgan_gp"](real, fake).item() == pytest.approx(0.0 - 4.0)
    assert G_LOSSES["wgan_gp"](fake).item() == pytest.approx(0.0)


def test_hinge_is_zero_beyond_the_margin_and_linear_inside():
    assert D_LOSSES["hinge"](torch.full((3,), 1.5), torch.full((3,), -2.0)).item() == 0.0
    assert D_LOSSES["hinge"](torch.zeros(3), torch.zeros(3)).item() == pytest.approx(2.0)
    assert G_LOSSES["hinge"](torch.tensor([2.0, 4.0])).item() == pytest.approx(-3.0)


def test_gradient_penalty_of_a_1_lipschitz_linear_critic_is_zero():
    w = torch.randn(3 * 8 * 8)
    w = w / w.norm()  # ||grad|| = 1 everywhere
    critic = lambda x: x.flatten(1) @ w  # noqa: E731
    real, fake = torch.randn(16, 3, 8, 8), torch.randn(16, 3, 8, 8)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    # a 3-Lipschitz linear critic: (3 - 1)^2 = 4 at every interpolate
    assert gradient_penalty(lambda x: 3 * critic(x), real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_is_differentiable_in_the_critic_parameters():
    lin = torch.nn.Linear(4, 1)
    gp = gradient_penalty(lambda x: lin(x).squeeze(1), torch.randn(8, 4), torch.randn(8, 4))
    gp.backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


def test_d_won_detects_complete_separation_only():
    ones = torch.ones(4)
    assert D_WON["bce"](10 * ones, -10 * ones) and not D_WON["bce"](10 * ones, torch.tensor([-10.0, -10, -10, 0]))
    assert D_WON["lsgan"](ones, 0 * ones) and not D_WON["lsgan"](0.5 * ones, 0 * ones)
    assert D_WON["hinge"](2 * ones, -2 * ones) and not D_WON["hinge"](0.5 * ones, -2 * ones)
    assert not D_WON["wgan_gp"](1e6 * ones, -1e6 * ones)


def test_d_won_honours_label_smoothing():
    """With smoothing 0.3 the bce D is trained to output 0.7 on real images: at 0.7 (and 0 on fakes) it has won,
    though no real score reaches the unsmoothed threshold sigmoid > 0.99; at 0.5 it has not."""
    ones = torch.ones(4)
    at_target = torch.logit(torch.tensor(0.7)) * ones  # sigmoid = 0.7 exactly
    assert D_WON["bce"](at_target, -10 * ones, real_label=0.7)
    assert not D_WON["bce"](at_target, -10 * ones)  # the unsmoothed target 1: 0.7 is far from it
    assert not D_WON["bce"](0 * ones, -10 * ones, real_label=0.7)  # 0.5 on real images: not won
    assert D_WON["lsgan"](0.7 * ones, 0 * ones, real_label=0.7) and not D_WON["lsgan"](0.7 * ones, 0 * ones)


def test_mean_score_is_a_probability_for_bce_only():
    s = torch.tensor([0.0, 0.0])
    assert mean_score("bce", s).item() == 0.5 and mean_score("hinge", s).item() == 0.0


def test_gradient_penalty_of_a_nonlinear_critic_is_taken_at_interpolates():
    # f(x) = |x|^2 / 2 has gradient x: the penalty at a point is (|x| - 1)^2. Reals have norm 0.5 and fakes 1.5
    # along one direction u, so at x = a real + (1 - a) fake, |x| = 1.5 - a and the penalty is (0.5 - a)^2:
    # 1/12 on average over a ~ U(0, 1), where at the reals or at the fakes it would be 0.25 for every row.
    critic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
    u = torch.randn(1, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    u = u / u.norm()
    real, fake = 0.5 * u.repeat(20_000, 1, 1, 1), 1.5 * u.repeat(20_000, 1, 1, 1)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    assert gp.item() == pytest.approx(1 / 12, rel=0.03)  # standard error of the mean: 0.7%
    # with a seeded generator, the interpolation weights are its draws: the penalty row by row, by hand
    alpha = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(2))
    by_hand = ((0.5 - alpha.flatten()) ** 2).mean()
    assert gradient_penalty(critic, real[:6], fake[:6], generator=torch.Generator().manual_seed(2)).item() == \
        pytest.approx(by_hand.item(), rel=1e-5)


def test_gradient_penalty_is_two_sided():
    # a 0.5-Lipschitz linear critic is penalised (0.5 - 1)^2 = 0.25: gradients below norm 1 count too
    w = torch.randn(2 * 4 * 4)
    critic = lambda x: 0.5 * x.flatten(1) @ (w / w.norm())  # noqa: E731
    assert gradient_penalty(critic, torch.randn(8, 2, 4, 4), torch.randn(8, 2, 4, 4)).item() == pytest.approx(0.25,
                                                                                                              rel=1e-5)
