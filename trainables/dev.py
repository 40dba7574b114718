"""Deep embedded validation (DEV; You, Wang, Long and Jordan, ICML 2019): a label-free estimate of a
model's risk on the target domain, for choosing among domain adaptation models without target labels.

DEV weights each labelled *source validation* example's loss by the density ratio
w(x) = p_target(x) / p_source(x) of its *features*, estimated by a domain classifier trained on the
features of unlabelled source and target training examples (a discriminative density ratio), and
subtracts a control variate: E[w] = 1 under the source distribution, so with L = w * loss,

    eta = -Cov(L, w) / Var(w),        DEV risk = mean(L) + eta * mean(w) - eta

(Algorithm 1 of the paper; ``get_dev_risk`` and ``get_weight`` of the released code,
thuml/Deep-Embedded-Validation ``dev.py``; unbiased sample (co)variances as there). No target label
is an input of anything here.

Departures from the released code, all for cost (this runs at every report of every trial on two
CPU cores) and stated again in docs/families/dann.md:

* The domain classifier is a logistic regression on standardised features (L-BFGS, full batch), not
  scikit-learn's ``MLPClassifier(hidden_layer_sizes=(d, d, 2))``: with the deep DANN's 768-d features
  that MLP has over a million weights and would be fitted nine times per report.
* Its L2 weight comes from a grid of four (:data:`DECAYS`, the released code tries nine, 1e-1 to 1e-5)
  and is chosen on the same held-out 20% of the domain examples, but by held-out logistic loss rather
  than accuracy: the weights need calibrated probabilities, and accuracy ties (all near 0.5 once the
  features hide the domain) say nothing about calibration.
* The split into 80% / 20% is seeded (:data:`SPLIT_SEED`), so the risk is a function of the model alone.
* ``Var(w) = 0`` (a constant ratio) gives ``eta = 0``; the released code divides by zero there. With
  ``w = 1`` everywhere the DEV risk is then the plain mean source validation loss, as it must be.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

DECAYS = (1e-1, 1e-2, 1e-3, 1e-4)  # L2 weights tried, every other one of the released code's nine
HELD_OUT_FRACTION = 0.2  # train_test_split(train_size=0.8) in the released code
SPLIT_SEED = 0
LBFGS_STEPS = 100


def control_variate(weights: torch.Tensor, losses: torch.Tensor) -> float:
    """``eta = -Cov(w * loss, w) / Var(w)`` (unbiased estimates), 0 when ``Var(w)`` is 0 or undefined."""
    w, wl = weights.double(), (weights * losses).double()
    if len(w) < 2:
        return 0.0
    var_w = float(w.var(unbiased=True))
    if var_w == 0.0:
        return 0.0
    cov = float(((wl - wl.mean()) * (w - w.mean())).sum()) / (len(w) - 1)
    return -cov / var_w


def dev_risk(weights: torch.Tensor, losses: torch.Tensor) -> float:
    """The DEV risk ``mean(w * loss) + eta * mean(w) - eta`` of per-example source validation ``losses``
    (N,) under density ratios ``weights`` (N,) (:func:`control_variate` for ``eta``)."""
    if weights.shape != losses.shape or weights.ndim != 1 or len(weights) == 0:
        raise ValueError(f"weights and losses must be equal-length non-empty vectors, got {tuple(weights.shape)} "
                         f"and {tuple(losses.shape)}")
    eta = control_variate(weights, losses)
    w = weights.double()
    return float((w * losses.double()).mean() + eta * w.mean() - eta)


def density_ratio(target_logit: torch.Tensor, n_source: int, n_target: int) -> torch.Tensor:
    """``p_t(x) / p_s(x) = P(target | x) / P(source | x) * n_source / n_target`` from the domain
    classifier's logit of P(target), trained on ``n_source`` source and ``n_target`` target examples."""
    return torch.exp(target_logit.double()) * (n_source / n_target)


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias minimising mean logistic loss + ``decay / 2 * |w|^2`` (the bias unpenalised)."""
    w = torch.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=LBFGS_STEPS, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ w + b, y) + 0.5 * decay * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def fit_domain_classifier(source: torch.Tensor, target: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A logistic regression of P(target | features) on ``source`` (N_s, d) and ``target`` (N_t, d)
    features, its L2 weight chosen from :data:`DECAYS` on a held-out fifth by logistic loss.

    Returns:
        features (M, d) -> logits of P(target) (M,).
    """
    x = torch.cat([source, target]).double().cpu()
    y = torch.cat([torch.zeros(len(source)), torch.ones(len(target))]).double()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    x = (x - mean) / std
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_held = max(1, round(HELD_OUT_FRACTION * len(x)))
    held, fit = order[:n_held], order[n_held:]
    best = None
    for decay in DECAYS:
        w, b = _fit_logistic(x[fit], y[fit], decay)
        held_loss = float(F.binary_cross_entropy_with_logits(x[held] @ w + b, y[held]))
        if best is None or held_loss < best[0]:
            best = (held_loss, w, b)
    _, w, b = best
    return lambda f: ((f.double().cpu() - mean) / std) @ w + b


def dev_of(source_val_features: torch.Tensor, source_val_losses: torch.Tensor, source_train_features: torch.Tensor,
           target_train_features: torch.Tensor) -> float:
    """The DEV risk of a model from its features: ``source_val_losses`` (N,) are its per-example losses
    on the labelled source validation examples whose features are ``source_val_features`` (N, d); the
    domain classifier learns from ``source_train_features`` and unlabelled ``target_train_features``."""
    classify = fit_domain_classifier(source_train_features, target_train_features)
    weights = density_ratio(classify(source_val_features), len(source_train_features), len(target_train_features))
    return dev_risk(weights, source_val_losses.double().cpu())
