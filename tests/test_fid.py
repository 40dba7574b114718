"""Fréchet distance, KID and class coverage against known values; the cached feature classifier."""

import math
import time

import numpy as np
import pytest
import scipy.linalg
import torch

from trainables import classifier
from trainables.classifier import Classifier, cache_dir, features_and_probs, prepare_assets
from trainables.data import load_dataset
from trainables import fid
from trainables.fid import FeatureStats, class_coverage, frechet_distance, kernel_inception_distance


def _random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=16), _random_cov(rng, 16)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_closed_form_for_diagonal_covariances():
    # diagonal: sum (m1 - m2)^2 + sum (s1 - s2)^2 with s the standard deviations
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 3.0**2 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert frechet_distance(np.array([3.0, 0, 0]), np.diag(s1), np.zeros(3), np.diag(s2)) == pytest.approx(expected)


def test_frechet_distance_matches_scipy_sqrtm_and_survives_singular_covariances():
    rng = np.random.default_rng(1)
    s1, s2 = _random_cov(rng, 32), _random_cov(rng, 32)
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)
    x = rng.normal(size=(10, 32))  # 10 samples in 32 dimensions: a rank-9 covariance
    singular = np.cov(x, rowvar=False)
    value = frechet_distance(x.mean(0), singular, x.mean(0), singular)
    assert math.isfinite(value) and value == pytest.approx(0.0, abs=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(1500, 8)), rng.normal(size=(1500, 8))
    same = kernel_inception_distance(a, b, subset_size=500)
    shifted = kernel_inception_distance(a, b + 1.0, subset_size=500)
    assert abs(same) < 0.02 and shifted > 0.5


def test_class_coverage_entropy():
    uniform = np.eye(10)[np.arange(1000) % 10]  # every class equally often, with certainty
    entropy, confidence, covered = class_coverage(uniform)
    assert entropy == pytest.approx(math.log(10)) and confidence == 1.0 and covered == 10
    collapsed = np.tile([0.5, 0.5] + [0.0] * 8, (100, 1))  # argmax always class 0
    assert class_coverage(collapsed) == (pytest.approx(0.0), 0.5, 1)


def test_feature_stats_keep_a_bounded_sample():
    f = np.random.default_rng(3).normal(size=(5000, 4))
    s = FeatureStats.of(f)
    assert s.mu.shape == (4,) and s.sigma.shape == (4, 4) and len(s.sample) == 2000


def test_classifier_handles_grey_28_and_rgb_32():
    for shape in ((1, 28, 28), (3, 32, 32)):
        feats, probs = features_and_probs(Classifier(shape, 10), torch.rand(5, *shape))
        assert feats.shape == (5, 128) and probs.shape == (5, 10)
        assert np.allclose(probs.sum(1), 1.0)


def test_read_only_data_root_caches_under_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)  # as ../shared/data: read-only even for root, by its mode
    assert cache_dir(ro) == tmp_path / "cache" / "genstudy" / "classifiers"
    rw = tmp_path / "rw"
    rw.mkdir()
    assert cache_dir(rw) == rw / "classifiers"


def test_prepare_assets_trains_once_then_reuses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(classifier, "MIN_STEPS", 150)  # enough for 4 shapes, a third of the time
    data = load_dataset("synthetic")  # 4 shape classes, easy: a working classifier is near-perfect
    first = prepare_assets(data, tmp_path)
    assert first["classifier_accuracy"] > 0.9
    assert first["classifier_file"].startswith(str(tmp_path / "classifiers"))
    assert set(first["refs"]) == {"val", "test"} and "inception_ref" not in first  # no Inception weights here
    assert first["refs"]["val"]["mu"].shape == (128,)
    assert not np.allclose(first["refs"]["val"]["mu"], first["refs"]["test"]["mu"])  # two different image sets
    second = prepare_assets(data, tmp_path)  # loaded, not retrained: same weights and recorded accuracy
    assert second["classifier_accuracy"] == pytest.approx(first["classifier_accuracy"], abs=1e-6)
    assert all(torch.equal(first["classifier"][k], second["classifier"][k]) for k in first["classifier"])


def test_two_wanting_one_classifier_at_once_train_it_once(tmp_path, monkeypatch):
    """Two studies started together on an empty cache: one trains, the other waits and loads what it cached."""
    from concurrent.futures import ThreadPoolExecutor

    calls = []

    def slow_train(data, device):
        calls.append(device)
        time.sleep(1.0)  # long enough that the second caller arrives while the first trains
        return classifier.Classifier(data.image_shape, data.num_classes), 0.5

    monkeypatch.setattr(classifier, "train_classifier", slow_train)
    data = load_dataset("synthetic")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: classifier.load_or_train(data, tmp_path), range(2)))
    assert len(calls) == 1
    assert results[0][2] == results[1][2] and [acc for _, acc, _ in results] == [0.5, 0.5]


# --- fid_inception: the FID network through torchmetrics, or nothing -------------------------------------------
def _hub(tmp_path, monkeypatch, *files):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(fid.FID_WEIGHTS_ENV, raising=False)
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for name in files:
        (checkpoints / name).write_bytes(b"weights")
    return checkpoints


class _FakeInception(torch.nn.Module):
    """Stands in for torchmetrics' NoTrainInceptionV3: records its inputs, returns 2048 features."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x)
        return x.float().mean(dim=(2, 3)).repeat(1, 683)[:, :2048]


def _fake_torchmetrics(monkeypatch, calls):
    import sys
    import types

    class FrechetInceptionDistance:
        def __init__(self, **kwargs):
            calls.append(kwargs)
            self.inception = _FakeInception()

    module = types.ModuleType("torchmetrics.image.fid")
    module.FrechetInceptionDistance = FrechetInceptionDistance
    for name, mod in (("torchmetrics", types.ModuleType("torchmetrics")),
                      ("torchmetrics.image", types.ModuleType("torchmetrics.image")), ("torchmetrics.image.fid", module)):
        monkeypatch.setitem(sys.modules, name, mod)


def test_imagenet_inception_weights_never_give_fid_inception(tmp_path, monkeypatch):
    _hub(tmp_path, monkeypatch, "inception_v3_google-0cc3c7bd.pth")  # torchvision's ImageNet Inception: not FID's
    calls = []
    _fake_torchmetrics(monkeypatch, calls)
    assert fid.fid_weights_path() is None
    assert fid.load_fid_inception(torch.device("cpu")) is None and calls == []


def test_without_torchmetrics_fid_inception_is_absent_even_with_the_weights(tmp_path, monkeypatch):
    import sys

    _hub(tmp_path, monkeypatch, fid.FID_WEIGHTS)
    monkeypatch.setitem(sys.modules, "torchmetrics", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "torchmetrics.image.fid", None)
    assert fid.fid_weights_path() is not None
    assert fid.load_fid_inception(torch.device("cpu")) is None


def test_fid_inception_uses_torchmetrics_fid_network_with_the_local_weights(tmp_path, monkeypatch):
    checkpoints = _hub(tmp_path, monkeypatch, fid.FID_WEIGHTS)
    calls = []
    _fake_torchmetrics(monkeypatch, calls)
    net = fid.load_fid_inception(torch.device("cpu"))
    assert isinstance(net, _FakeInception)
    (kwargs,) = calls
    assert kwargs["feature"] == 2048 and kwargs["feature_extractor_weights_path"] == str(checkpoints / fid.FID_WEIGHTS)
    assert kwargs["antialias"] is False  # TF1-style resize, as the reference FID code
    grey = torch.rand(70, 1, 28, 28)
    features = fid.inception_features(net, grey)
    assert features.shape == (70, 2048) and features.dtype == np.float64
    first = net.inputs[0]
    assert first.dtype == torch.uint8 and first.shape == (50, 3, 28, 28)  # RGB, 0..255; the network resizes
    assert torch.equal(first[:, 0], (grey[:50, 0] * 255).byte())


def test_gan_reports_and_final_metrics_hold_no_fid_inception_without_the_network(tmp_path, monkeypatch):
    _hub(tmp_path, monkeypatch, "inception_v3_google-0cc3c7bd.pth")
    from trainables.families import FAMILIES
    from trainables.gan import SampleEvaluator
    from trainables.gan_config import GANConfig

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(classifier, "MIN_STEPS", 50)
    data = load_dataset("synthetic")
    assets = prepare_assets(data, tmp_path)
    cfg = GANConfig(dataset="synthetic", depth=2, width=8, latent_dim=8, eval_samples=200)
    gan = FAMILIES["gan"].build(cfg)
    _, metrics = SampleEvaluator(cfg, assets, data.image_shape, torch.device("cpu"))(gan.generator)
    assert "val_fid" in metrics and not [k for k in metrics if "inception" in k]
    assert FAMILIES["gan"].final_metrics(gan, cfg, data) == {}  # absent, never computed with another network


def test_kid_is_the_unbiased_mmd_estimate_on_a_hand_computed_case():
    # k(a, b) = (a b / d + 1)^3 with d = 1; x = {1, 2}, y = {0, 1}
    # k(x, x'): 8, 27, 125; k(y, y'): 1, 1, 8; k(x, y): 1, 8, 1, 27
    # unbiased MMD^2 = mean of the off-diagonal k(x, x') and k(y, y') - 2 mean k(x, y) = 27 + 1 - 2 * 37 / 4 = 9.5
    # (the biased one, diagonals included, would be (8 + 2 * 27 + 125) / 4 + (1 + 2 + 8) / 4 - 18.5 = 31)
    x, y = np.array([[1.0], [2.0]]), np.array([[0.0], [1.0]])
    assert kernel_inception_distance(x, y, n_subsets=3, subset_size=2) == pytest.approx(9.5)
