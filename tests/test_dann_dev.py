"""Deep embedded validation (trainables.dev), the DANN studies' label-free criterion: its maths on
constructed inputs with known answers, and that the value a trial logs reads no target label."""

import numpy as np
import pytest
import torch

from trainables import metric_names as M
from trainables.dann_config import MoonsConfig
from trainables.data.domains import DomainData, Labelled
from trainables.data.moons import make_domain_moons
from trainables.dev import control_variate, density_ratio, dev_of, dev_risk, fit_domain_classifier
from trainables.families import FAMILIES


def test_a_density_ratio_of_one_gives_the_plain_source_validation_loss():
    losses = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    assert dev_risk(torch.ones(8), losses) == pytest.approx(3 / 8)
    assert control_variate(torch.ones(8), losses) == 0.0  # Var(w) = 0: no control variate


def test_the_control_variate_is_the_papers_formula_by_hand():
    # w = (1, 3), loss = (1, 0): w * loss = (1, 0), mean 0.5; Cov(wl, w) = ((0.5)(-1) + (-0.5)(1)) / 1 = -1,
    # Var(w) = 2, eta = 0.5; DEV = 0.5 + 0.5 * 2 - 0.5 = 1.0
    w, loss = torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.0])
    assert control_variate(w, loss) == pytest.approx(0.5)
    assert dev_risk(w, loss) == pytest.approx(1.0)


def test_dev_risk_matches_the_released_codes_get_dev_risk():
    # thuml/Deep-Embedded-Validation dev.py get_dev_risk, written out with numpy's cov and var(ddof=1)
    rng = np.random.default_rng(0)
    w, err = rng.gamma(2.0, 0.5, 50), (rng.random(50) < 0.3).astype(float)
    cov = np.cov(np.stack([w * err, w]))[0][1]
    eta = -cov / np.var(w, ddof=1)
    expected = np.mean(w * err) + eta * np.mean(w) - eta
    assert dev_risk(torch.from_numpy(w), torch.from_numpy(err)) == pytest.approx(expected, rel=1e-12)
    assert dev_risk(torch.from_numpy(w), torch.from_numpy(err)) != pytest.approx(np.mean(w * err), rel=1e-3)


def test_density_ratio_is_the_odds_times_the_sample_ratio():
    # P(target | x) = 0.8: odds 4; 100 source and 50 target training examples: p_t / p_s = 4 * 100 / 50
    w = density_ratio(torch.tensor([np.log(4.0), 0.0]), n_source=100, n_target=50)
    assert w.tolist() == pytest.approx([8.0, 2.0])


def test_the_domain_classifier_weights_target_like_source_points_up(torch_one_thread):
    gen = torch.Generator().manual_seed(0)
    source, target = torch.randn(400, 3, generator=gen), torch.randn(400, 3, generator=gen) + torch.tensor([2.0, 0, 0])
    classify = fit_domain_classifier(source, target)
    w = density_ratio(classify(torch.tensor([[2.0, 0, 0], [0.0, 0, 0], [-2.0, 0, 0]])), 400, 400)
    assert w[0] > 1.0 > w[2] and w[0] > w[1] > w[2]
    # the true log ratio of N(2, 1) to N(0, 1) at x1 = 0 is -2: a logistic model of it is exact
    assert float(torch.log(w[1])) == pytest.approx(-2.0, abs=0.5)


def test_dev_counts_source_errors_where_the_target_lies(torch_one_thread):
    # source N(0, 1), target N(2, 1) in x1. Errors on the source points with x1 > 1 (about 16% of them, 84% of the
    # target's mass) against errors on those with x1 < 0 (50% of them, 2% of the target's): plain validation error
    # ranks the second model better, the target risk (and DEV) the first.
    gen = torch.Generator().manual_seed(1)
    source, target = torch.randn(400, 2, generator=gen), torch.randn(400, 2, generator=gen) + torch.tensor([2.0, 0])
    val = torch.randn(400, 2, generator=gen)
    near_target, far = (val[:, 0] > 1).double(), (val[:, 0] < 0).double()
    assert near_target.mean() < far.mean()
    assert dev_of(val, near_target, source, target) > 0.5 > 0.1 > dev_of(val, far, source, target)


def _corrupt_target_labels(data: DomainData) -> DomainData:
    rng = np.random.default_rng(7)
    splits = {k: Labelled(v.x, rng.permutation(v.y) if k.startswith("target") else v.y) if k != "target_val"
              else Labelled(v.x, (v.y + 1) % data.num_classes) for k, v in data.splits.items()}
    return DomainData(data.name, splits, data.num_classes, data.origin)


def test_val_dev_risk_reads_no_target_label(torch_one_thread):
    # every target label permuted, the validation ones all wrong: the oracle moves, the DEV risk does not
    data = make_domain_moons()
    cfg = MoonsConfig(max_epochs=2, reports=2, hidden=5)
    runs = []
    for d in (data, _corrupt_target_labels(data)):
        out = []
        FAMILIES["dann_moons"].fit(cfg, lambda m, folder: out.append(m), d)
        runs.append(out)
    assert [m[M.VAL_DEV_RISK] for m in runs[0]] == [m[M.VAL_DEV_RISK] for m in runs[1]]
    assert [m[M.TARGET_VAL_ACC] for m in runs[0]] != [m[M.TARGET_VAL_ACC] for m in runs[1]]
