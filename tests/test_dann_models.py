"""DANN's pieces against their definitions: the gradient-reversal layer, the two schedules, the
Figure 4(a) network's shapes and size, and one Algorithm 1 step against the paper's update rules."""

import math

import numpy as np
import pytest
import torch

from trainables.dann_config import DANNConfig, MoonsConfig
from trainables.families import FAMILIES

fit_moons = FAMILIES["dann_moons"].fit
from trainables.checkpoint import load_weights
from trainables.data.domains import DomainData, Labelled
from trainables.families import FAMILIES
from trainables.losses.dann import domain_correct, domain_loss, lambda_schedule, lr_schedule
from trainables.models.dann import DeepDANN, ShallowDANN, grad_reverse


@pytest.mark.parametrize("coeff", [0.0, 0.3, 1.0, 6.0])
def test_grad_reverse_is_identity_forward_and_minus_coeff_grad_backward(coeff):
    x = torch.randn(4, 5, requires_grad=True)
    upstream = torch.randn(4, 5)
    y = grad_reverse(x, coeff)
    assert torch.equal(y, x)
    (y * upstream).sum().backward()
    assert torch.allclose(x.grad, -coeff * upstream)


def test_grad_reverse_leaves_the_layers_after_it_a_normal_gradient():
    layer = torch.nn.Linear(3, 1)
    x = torch.randn(8, 3, requires_grad=True)
    layer(grad_reverse(x, 2.0)).sum().backward()
    reversed_w, reversed_x = layer.weight.grad.clone(), x.grad.clone()
    layer.zero_grad()
    x.grad = None
    layer(x).sum().backward()
    assert torch.allclose(layer.weight.grad, reversed_w)  # the domain classifier learns as usual
    assert torch.allclose(x.grad, -0.5 * reversed_x)  # the features get -2 times the gradient


def test_schedules_match_the_papers_formulas():
    # section 5.2.2: mu_p = mu0 / (1 + alpha p)^beta, lambda_p = 2 / (1 + exp(-gamma p)) - 1
    for p in (0.0, 0.1, 0.5, 1.0):
        assert lr_schedule(p, 0.01, 10, 0.75) == pytest.approx(0.01 / (1 + 10 * p) ** 0.75)
        assert lambda_schedule(p, 10) == pytest.approx(2 / (1 + math.exp(-10 * p)) - 1)
    assert lr_schedule(0.0, 0.01, 10, 0.75) == 0.01
    assert lr_schedule(1.0, 0.01, 10, 0.75) == pytest.approx(0.0016556, abs=1e-7)  # 0.01 / 11^0.75 = 0.01 / 6.0401
    assert lambda_schedule(0.0, 10) == 0.0
    assert lambda_schedule(1.0, 10) == pytest.approx(0.9999092, abs=1e-7)
    assert lambda_schedule(0.5, 10, lambda_max=0.5) == pytest.approx(0.5 * math.tanh(2.5))  # 2/(1+e^-x)-1 = tanh(x/2)
    assert lambda_schedule(0.7, 10, lambda_max=0.0) == 0.0  # the source-only network


def test_domain_loss_and_accuracy_use_source_0_target_1():
    confident = torch.tensor([-20.0, -20.0]), torch.tensor([20.0, 20.0])
    assert domain_loss(*confident).item() == pytest.approx(0.0, abs=1e-8)
    assert domain_correct(*confident) == 4
    assert domain_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2))
    assert domain_correct(torch.tensor([1.0, -1.0]), torch.tensor([-1.0, 1.0])) == 2


def test_figure_4a_network_shapes_and_parameter_count():
    model = DeepDANN()
    for channels in (1, 3):
        labels, domain = model(torch.rand(5, channels, 28, 28))
        assert labels.shape == (5, 10) and domain.shape == (5,)
    assert model.features(torch.rand(2, 3, 28, 28)).shape == (2, 768)  # 48 x 4 x 4
    # conv 3*32*25+32, conv 32*48*25+48, 768-100-100-10, 768-100-1
    expected = 2432 + 38448 + (76900 + 10100 + 1010) + (76900 + 101)
    assert sum(p.numel() for p in model.parameters()) == expected == FAMILIES["dann"].n_params(DANNConfig())
    assert "pixel_mean" in model.state_dict()  # the mean subtracted travels with the weights


def test_shallow_network_initialised_as_the_authors_code():
    torch.manual_seed(0)
    model = ShallowDANN(15)
    bound = math.sqrt(6 / (2 + 15))
    assert model.hidden.weight.abs().max() <= bound and model.hidden.weight.abs().max() > 0.5 * bound
    assert not model.domain.weight.any() and not model.hidden.bias.any() and not model.label.bias.any()
    assert FAMILIES["dann_moons"].n_params(MoonsConfig()) == 93  # 2*15+15, 15*2+2, 15+1


def _algorithm1_step(W, b, V, c, u, z, x_s, y_s, x_t, lam, lr, adversarial):
    """One step of Algorithm 1 written from the paper (its domain regressor predicts P(source))."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = sig(W @ x_s + b)
    out = np.exp(V @ h + c)
    out /= out.sum()
    e_y = np.eye(2)[y_s]
    d_c = out - e_y
    d_V = np.outer(d_c, h)
    d_b = (V.T @ d_c) * h * (1 - h)
    d_W = np.outer(d_b, x_s)
    o_s = sig(u @ h + z)
    d_z = lam * (1 - o_s)
    d_u = d_z * h
    if adversarial:
        tmp = d_z * u * h * (1 - h)
        d_b, d_W = d_b + tmp, d_W + np.outer(tmp, x_s)
    h_t = sig(W @ x_t + b)
    o_t = sig(u @ h_t + z)
    d_z, d_u = d_z - lam * o_t, d_u - lam * o_t * h_t
    if adversarial:
        tmp = -lam * o_t * u * h_t * (1 - h_t)
        d_b, d_W = d_b + tmp, d_W + np.outer(tmp, x_t)
    return W - lr * d_W, b - lr * d_b, V - lr * d_V, c - lr * d_c, u + lr * d_u, z + lr * d_z


def _one_point(x_s, y_s, x_t) -> DomainData:
    one = lambda x, y: Labelled(np.asarray([x], np.float32), np.asarray([y]))  # noqa: E731
    return DomainData("moons", {"source_train": one(x_s, y_s), "source_val": one(x_s, y_s),
                                "source_test": one(x_s, y_s),
                                "target_train": one(x_t, 0), "target_val": one(x_t, 0), "target_test": one(x_t, 0)}, 2)


@pytest.mark.parametrize("adversarial", [True, False])
def test_two_moons_steps_are_algorithm_1(tmp_path, adversarial):
    x_s, y_s, x_t = np.array([0.4, -0.7]), 1, np.array([-0.2, 0.9])
    cfg = MoonsConfig(hidden=4, lambda_adapt=6.0, lr=0.05, max_epochs=3, reports=1, adversarial=adversarial, seed=3)
    fit_moons(cfg, lambda m, d: None, _one_point(x_s, y_s, x_t), workdir=str(tmp_path))  # 3 steps, one point each
    torch.manual_seed(3)
    init = ShallowDANN(4)  # the same seeded initialisation fit starts from
    W, b, V, c = (t.detach().double().numpy() for t in (init.hidden.weight, init.hidden.bias, init.label.weight,
                                                        init.label.bias))
    u, z = np.zeros(4), 0.0
    for _ in range(3):
        W, b, V, c, u, z = _algorithm1_step(W, b, V, c, u, z, x_s, y_s, x_t, 6.0, 0.05, adversarial)
    trained = ShallowDANN(4)
    load_weights(tmp_path / "report_0001", trained)
    np.testing.assert_allclose(trained.hidden.weight.detach().numpy(), W, atol=1e-5)
    np.testing.assert_allclose(trained.label.weight.detach().numpy(), V, atol=1e-5)
    np.testing.assert_allclose(trained.domain.weight.detach().numpy()[0], -u, atol=1e-5)  # P(target) = 1 - P(source)
    assert trained.domain.bias.item() == pytest.approx(-z, abs=1e-5)
