"""The deep DANN's training step against the paper's update (Ganin et al. 2016, eq. 13-14): the features
descend on the label loss and ascend on the domain loss scaled by λ_p, the domain classifier descends on it,
and the step's learning rate is μ_p; λ_p and μ_p follow the training progress p = step / total."""

import math

import pytest
import torch
import torch.nn.functional as F

from tests.step_support import GradRecorder, grads_of
from trainables.dann import _train, batch_order
from trainables.dann_config import DANNConfig
from trainables.images import uint8_to_float
from trainables.models.dann import DeepDANN

CFG = DANNConfig(batch_size=32, gamma=2.0, seed=5)  # gamma 2: lambda_p = tanh(p), far from 0 and 1 at p = 0.5
HALF, PER_EPOCH, TOTAL = 16, 4, 8  # 64 source images in halves of 16: 4 steps an epoch, 2 epochs

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _data():
    g = torch.Generator().manual_seed(0)
    xs = torch.randint(0, 256, (64, 1, 28, 28), generator=g, dtype=torch.uint8)
    ys = torch.randint(0, 10, (64,), generator=g)
    xt = torch.randint(0, 256, (50, 3, 28, 28), generator=g, dtype=torch.uint8)
    return xs, ys, xt


def _model():
    torch.manual_seed(1)
    return DeepDANN()


def test_deep_step_reverses_the_domain_gradient_into_the_features_scaled_by_lambda_p():
    xs, ys, xt = _data()
    model = _model()
    opt = GradRecorder(model)
    step = 4  # p = 4 / 8 = 0.5
    _train(model, opt, (xs, ys, xt), CFG, step, step + 1, PER_EPOCH, TOTAL)
    ((_, applied),) = opt.steps
    lam = 2 / (1 + math.exp(-CFG.gamma * 0.5)) - 1  # 0.462
    # by hand: the step's batch, both losses' plain gradients (no reversal layer)
    order = batch_order(CFG.seed, step // PER_EPOCH, len(xs), len(xt), HALF)
    idx_s, idx_t = order[0][step % PER_EPOCH], order[1][step % PER_EPOCH]
    x = torch.cat([uint8_to_float(xs[idx_s]).expand(-1, 3, -1, -1), uint8_to_float(xt[idx_t])])
    f = model.features(x)
    label = F.cross_entropy(model.label(f)[:HALF], ys[idx_s])
    domain = F.binary_cross_entropy_with_logits(model.domain(f).squeeze(1), torch.cat([torch.zeros(HALF),
                                                                                       torch.ones(HALF)]))
    g_label, g_domain = grads_of(label, model), grads_of(domain, model)
    for name, g in applied.items():
        if name.startswith("extractor."):  # G_f: the label gradient minus lambda_p times the domain gradient
            expected = g_label[name] - lam * g_domain[name]
        elif name.startswith("domain."):  # G_d learns to tell the domains apart
            expected = g_domain[name]
        else:  # G_y
            expected = g_label[name]
        assert torch.allclose(g, expected, rtol=1e-4, atol=1e-7), name
    w = "extractor.0.weight"  # the domain share is large enough that another sign or scale would fail above
    assert (lam * g_domain[w]).norm() > 1e-2 * (g_label[w] - lam * g_domain[w]).norm()


def test_deep_step_follows_the_lr_schedule():
    model = _model()
    opt = GradRecorder(model)
    _train(model, opt, _data(), CFG, 0, TOTAL, PER_EPOCH, TOTAL)
    lrs = [lr for lr, _ in opt.steps]
    expected = [0.01 / (1 + 10 * s / TOTAL) ** 0.75 for s in range(TOTAL)]  # mu_0 0.01, alpha 10, beta 0.75
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert lrs[0] == 0.01 and lrs[-1] < 0.2 * 0.01
