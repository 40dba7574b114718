"""Stochastic binarisation: dynamic draws per (seed, epoch), fixed validation/test draws, Bernoulli means."""

from __future__ import annotations

import pytest
import torch

from trainables.data.binarize import BINARIZE_MODES, binarize_eval, binarize_train


@pytest.fixture(scope="module")
def grey(mnist_root) -> torch.Tensor:
    from trainables.data import load_dataset

    return torch.from_numpy(load_dataset("mnist", mnist_root).x_test[:4])  # (4, 1, 28, 28) uint8


def test_dynamic_draws_differ_across_epochs_and_repeat_for_the_same_seed_and_epoch(grey):
    e1, e2 = binarize_train(grey, "dynamic", seed=3, epoch=1), binarize_train(grey, "dynamic", seed=3, epoch=2)
    assert e1.dtype == torch.uint8 and e1.shape == grey.shape
    assert set(e1.unique().tolist()) == {0, 255}
    assert not torch.equal(e1, e2)
    torch.manual_seed(123)  # the global RNG (what a resumed trial restores differently) must not matter
    assert torch.equal(e1, binarize_train(grey, "dynamic", seed=3, epoch=1))
    assert not torch.equal(e1, binarize_train(grey, "dynamic", seed=4, epoch=1))
    assert not torch.equal(binarize_train(grey, "dynamic", seed=0, epoch=1), binarize_train(grey, "dynamic", seed=1, epoch=0))


def test_extreme_pixels_are_kept_and_grey_pixels_vary(grey):
    draws = torch.stack([binarize_train(grey, "dynamic", seed=0, epoch=e) for e in range(1, 201)])  # (200, 4, 1, 28, 28)
    assert (draws[:, grey == 0] == 0).all() and (draws[:, grey == 255] == 255).all()
    mid = (grey > 50) & (grey < 205)
    assert mid.sum() > 100 and (draws[:, mid].float().std(0) > 0).all()  # never a fixed threshold


def test_mean_of_many_draws_approaches_the_grey_level(grey):
    n = 1000
    total = torch.zeros(grey.shape, dtype=torch.float64)
    for epoch in range(1, n + 1):
        total += binarize_train(grey, "dynamic", seed=0, epoch=epoch).double() / 255.0
    p = grey.double() / 255.0
    err = (total / n - p).abs()
    # each pixel's mean of n Bernoulli(p) draws has sd sqrt(p(1-p)/n) <= 0.016; 5.5 sd over 3,136 pixels
    # is passed by chance with probability > 0.9999, and the +1e-9 admits p in {0, 1} (sd 0)
    assert (err <= 5.5 * (p * (1 - p) / n).sqrt() + 1e-9).all()
    assert err.mean().item() < 0.01


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_validation_and_test_are_drawn_once_with_a_fixed_seed(grey, mode):
    torch.manual_seed(0)
    val = binarize_eval(grey, mode, "val")
    torch.manual_seed(99)
    assert torch.equal(val, binarize_eval(grey, mode, "val"))  # the same in every trial and every call
    assert torch.equal(val, binarize_eval(grey, "dynamic" if mode == "static" else "static", "val"))
    assert not torch.equal(val, binarize_eval(grey, mode, "test"))  # the splits draw their own uniforms
    assert set(val.unique().tolist()) == {0, 255}


def test_static_training_draw_is_fixed_across_epochs_and_seeds(grey):
    first = binarize_train(grey, "static", seed=0, epoch=1)
    assert torch.equal(first, binarize_train(grey, "static", seed=7, epoch=5))
    assert not torch.equal(first, binarize_train(grey, "dynamic", seed=0, epoch=1))


def test_none_returns_the_grey_levels(grey):
    assert binarize_train(grey, "none", seed=0, epoch=1) is grey
    assert binarize_eval(grey, "none", "test") is grey


def test_bad_mode_split_and_dtype_are_named(grey):
    with pytest.raises(ValueError, match="none, dynamic, static"):
        binarize_train(grey, "threshold", seed=0, epoch=1)
    with pytest.raises(ValueError, match="split"):
        binarize_eval(grey, "dynamic", "train")
    with pytest.raises(ValueError, match="uint8"):
        binarize_train(grey.float(), "dynamic", seed=0, epoch=1)
    assert BINARIZE_MODES == ("none", "dynamic", "static")
