"""The VAE's ``binarize`` option in the training loop, its final importance-weighted NLL
(``trainables.vae_nll.final_metrics``) and how its numbers are named (issue 23, point 1). The estimator itself
is checked against a closed-form likelihood in tests/test_iwae.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import trainables.vae as vae_loop
from record.errors import UsageError
from study.resolve import resolve
from trainables import metric_names as M
from trainables.data import load_dataset
from trainables.families import FAMILIES, restore_model
from trainables.iwae import IWAE_TABLE1
from trainables.vae_config import VAEConfig
from trainables.vae_nll import GREY_NELBO_FLOOR, GREY_NELBO_NOTE, PAPER_ROW, final_metrics, nelbo_note, nll_text

TINY = dict(dataset="synthetic", arch="mlp", depth=1, width=16, latent_dim=2, batch_size=64, image_every=5,
            nll_iw_k=8, nll_iw_images=40)


@pytest.fixture(scope="module")
def shapes():
    """The synthetic shapes (binary images) made grey: every pixel 32 or 223, so a Bernoulli draw varies."""
    data = load_dataset("synthetic").subset(256)
    grey = {f"x_{s}": (getattr(data, f"x_{s}").astype(np.uint16) * 3 // 4 + 32).astype(np.uint8)
            for s in ("train", "val", "test")}
    return dataclasses.replace(data, **grey)


def _fit(cfg, data, tmp_path, monkeypatch) -> tuple[list[torch.Tensor], list[dict]]:
    """Fit ``cfg``; returns the training images each epoch saw and each report's metrics."""
    seen, reports = [], []
    real = vae_loop._train_epoch

    def spy(model, opt, x_train, *args):
        seen.append(x_train.clone())
        return real(model, opt, x_train, *args)

    monkeypatch.setattr(vae_loop, "_train_epoch", spy)
    FAMILIES["vae"].fit(cfg, lambda m, d: reports.append(m), data, workdir=str(tmp_path))
    return seen, reports


def test_dynamic_training_draws_binary_images_afresh_each_epoch(shapes, tmp_path, monkeypatch, torch_one_thread):
    seen, _ = _fit(VAEConfig(**TINY, max_epochs=2, binarize="dynamic"), shapes, tmp_path, monkeypatch)
    assert all(set(x.unique().tolist()) == {0, 255} for x in seen)
    assert not torch.equal(seen[0], seen[1])  # a fresh Bernoulli draw every epoch


def test_grey_training_sees_the_grey_levels(shapes, tmp_path, monkeypatch, torch_one_thread):
    seen, _ = _fit(VAEConfig(**TINY, max_epochs=1), shapes, tmp_path, monkeypatch)
    assert torch.equal(seen[0], torch.from_numpy(shapes.x_train))


def test_validation_metrics_are_on_the_fixed_binarised_split(shapes, tmp_path, monkeypatch, torch_one_thread):
    """The logged val_nelbo is the model's nelbo on the validation split binarised once (not on grey levels)."""
    cfg = VAEConfig(**TINY, max_epochs=1, binarize="dynamic")
    _, reports = _fit(cfg, shapes, tmp_path, monkeypatch)
    model, _ = restore_model(tmp_path / "report_0001")
    binary = vae_loop.eval_images(shapes, "val", "dynamic")
    assert set(binary.unique().tolist()) == {0, 255}
    assert reports[0][M.VAL_NELBO] == pytest.approx(vae_loop.evaluate(model, binary, cfg)["nelbo"], rel=1e-5)
    assert reports[0][M.VAL_NELBO] != pytest.approx(
        vae_loop.evaluate(model, torch.from_numpy(shapes.x_val), cfg)["nelbo"], rel=1e-5)  # 2e-4 apart after an epoch


def test_final_metrics_estimate_both_splits_on_binarised_data(shapes, torch_one_thread):
    cfg = VAEConfig(**TINY, binarize="dynamic")
    model = FAMILIES["vae"].build(cfg)
    values = final_metrics(model, cfg, shapes)
    assert set(values) == set(M.NLL_IW_METRICS)
    assert all(values[se] > 0 for _, se in M.NLL_IW_SPLIT_METRICS.values())
    assert values == final_metrics(model, cfg, shapes)  # seeded: the same numbers again


@pytest.mark.parametrize("change", [dict(binarize="none"), dict(binarize="dynamic", beta=0.0, deterministic=True),
                                    dict(binarize="dynamic", likelihood="gaussian")])
def test_no_estimate_where_it_is_not_a_likelihood(shapes, change):
    cfg = VAEConfig(**{**TINY, **change})
    assert final_metrics(FAMILIES["vae"].build(cfg), cfg, shapes) == {}


def test_the_estimate_is_shown_with_its_error_and_k_beside_the_papers_row():
    config = {"dataset": "mnist", "binarize": "dynamic", "nll_iw_k": "5000", "nll_iw_images": "None"}
    values = {M.TEST_NLL_IW: 88.123, M.TEST_NLL_IW_SE: 0.456, M.VAL_NLL_IW: 87.0, M.VAL_NLL_IW_SE: 0.5}
    text = nll_text(values, config)
    assert text.startswith(f"{M.TEST_NLL_IW} = 88.12 ± 0.46 nats (k=5000, the whole test split")
    assert f"the paper's VAE (1 stochastic layer, k=1 in training) test NLL: {IWAE_TABLE1[PAPER_ROW]}" in text
    assert "ours is" not in text and "the paper scores" not in text  # the same setting as the paper's: nothing to say about how it differs
    assert "paper" not in nll_text(values, config, "val")  # the paper's number is a test-set NLL
    smaller = nll_text(values, {**config, "nll_iw_k": "50", "nll_iw_images": "200", "binarize": "static"})
    assert "k=50, 200 random test images" in smaller and "ours is binarize=static" in smaller
    assert nll_text({}, config) is None


@pytest.mark.parametrize("config, grey", [
    ({"likelihood": "bernoulli", "binarize": "none"}, True),
    ({"likelihood": "bernoulli"}, True),  # recorded before binarize existed: grey levels
    ({"likelihood": "bernoulli", "binarize": "dynamic"}, False),
    ({"likelihood": "gaussian", "binarize": "none"}, False),
])
def test_a_grey_level_nelbo_is_labelled_a_bound_not_a_likelihood(config, grey):
    assert nelbo_note(M.VAL_NELBO, config) == (GREY_NELBO_NOTE if grey else None)
    assert nelbo_note(M.VAL_RECON, config) is None


def test_the_grey_floor_is_a_perfect_reconstructions_cross_entropy(mnist_root):
    """GREY_NELBO_FLOOR: the Bernoulli cross-entropy of the test images with themselves, mean per image."""
    p = torch.from_numpy(load_dataset("mnist", mnist_root).x_test).double() / 255
    floor = -(torch.xlogy(p, p) + torch.xlogy(1 - p, 1 - p)).flatten(1).sum(1).mean().item()
    assert floor == pytest.approx(GREY_NELBO_FLOOR, abs=0.01)


def test_a_bad_binarize_value_is_refused_with_the_fix():
    with pytest.raises(UsageError, match=r"binarize must be one of none, dynamic, static.*fix: "):
        resolve("vae_beta_sweep", sets=["binarize=dynamc"])
    assert resolve("vae_beta_sweep", sets=["binarize=dynamic"]).fixed["binarize"] == "dynamic"
