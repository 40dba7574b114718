"""The DANN training loops on tiny data: what they report, failures, the reference (resume: test_family_contract.py)."""

import numpy as np
import pytest
import torch

from trainables import metric_names as M
from trainables.dann import batch_order, pixel_mean
from trainables.dann_config import DANNConfig, MoonsConfig
from trainables.dann_moons import report_epochs
from trainables.families import FAMILIES

fit, fit_moons = FAMILIES["dann"].fit, FAMILIES["dann_moons"].fit
from trainables.dann_reference import prepare_reference
from trainables.data.domains import DomainData, Labelled
from trainables.data.moons import make_domain_moons
from trainables.errors import Diverged


def _tiny(n=96, seed=0) -> DomainData:
    rng = np.random.default_rng(seed)

    def split(channels, k):
        return Labelled(rng.integers(0, 256, (k, channels, 28, 28), dtype=np.uint8), rng.integers(0, 10, k))

    return DomainData("tiny", {"source_train": split(1, n), "source_val": split(1, 40), "source_test": split(1, 40),
                               "target_train": split(3, n + 20), "target_val": split(3, 30),
                               "target_test": split(3, 30)}, 10)


CFG = DANNConfig(batch_size=32, max_epochs=2, reports_per_epoch=2, seed=5)
KEYS = {M.EPOCH, M.N_PARAMS, M.SOURCE_ACC, M.VAL_DEV_RISK, M.TARGET_VAL_ACC, M.TARGET_TEST_ACC, M.DOMAIN_ACC,
        M.LABEL_LOSS, M.DOMAIN_LOSS, M.LAMBDA_P, M.LR_P, M.SAMPLES_PER_S}


def test_deep_fit_reports_every_metric_at_every_report(tmp_path):
    reports = []
    fit(CFG, lambda m, d: reports.append((m, d)), _tiny(), workdir=str(tmp_path),
        assets={M.TARGET_ONLY_VAL_ACC: 0.9, M.TARGET_ONLY_TEST_ACC: 0.8})
    assert len(reports) == 4
    for k, (m, d) in enumerate(reports, 1):
        assert KEYS | {M.TARGET_ONLY_VAL_ACC, M.TARGET_ONLY_TEST_ACC} <= set(m)
        assert m[M.EPOCH] == pytest.approx(k / 2) and 0 <= m[M.DOMAIN_ACC] <= 1
        assert (tmp_path / f"report_{k:04d}" / "model.safetensors").is_file() and d.endswith(f"report_{k:04d}")
    # the schedules at the end of training: p = 1
    assert reports[-1][0][M.LAMBDA_P] == pytest.approx(2 / (1 + np.exp(-10)) - 1)
    assert reports[-1][0][M.LR_P] == pytest.approx(0.01 / 11 ** 0.75)


def test_source_only_features_ignore_the_domain_classifier():
    # lambda_max = 0: the features and label predictor train exactly as with no domain loss at all
    data = _tiny()
    runs = []
    for lambda_max in (0.0, 1.0):
        out = []
        fit(DANNConfig(**{**CFG.to_dict(), "lambda_max": lambda_max, "max_epochs": 1}),
            lambda m, d: out.append(m), data)
        runs.append(out[-1])
    assert runs[0][M.LAMBDA_P] == 0.0 and runs[1][M.LAMBDA_P] > 0.9
    assert runs[0][M.DOMAIN_LOSS] != runs[1][M.DOMAIN_LOSS]


def test_batches_are_half_source_half_target_and_a_function_of_seed_and_epoch():
    s, t = batch_order(3, 1, 100, 30, 16)
    assert s.shape == t.shape == (6, 16)  # 100 // 16 steps, the partial batch dropped
    assert len(set(s.flatten().tolist())) == 96 and t.max() < 30
    assert torch.equal(batch_order(3, 1, 100, 30, 16)[0], s) and not torch.equal(batch_order(3, 2, 100, 30, 16)[0], s)


def test_pixel_mean_counts_both_domains():
    data = DomainData("m", {"source_train": Labelled(np.full((2, 1, 28, 28), 255, np.uint8), np.zeros(2, int)),
                            "target_train": Labelled(np.zeros((2, 3, 28, 28), np.uint8), np.zeros(2, int)),
                            **{k: Labelled(np.zeros((1, 3, 28, 28), np.uint8), np.zeros(1, int))
                               for k in ("target_val", "target_test")}}, 10)
    assert pixel_mean(data).flatten().tolist() == [0.5, 0.5, 0.5]


def test_divergence_is_raised():
    with pytest.raises(Diverged, match="diverged"):
        fit(DANNConfig(**{**CFG.to_dict(), "lr": 1e9, "lr_alpha": 0.0}), lambda m, d: None, _tiny())


def test_moons_report_schedule_and_metrics():
    cfg = MoonsConfig(max_epochs=7, reports=3, hidden=5)
    assert report_epochs(cfg) == [2, 5, 7]
    reports = []
    fit_moons(cfg, lambda m, d: reports.append(m), make_domain_moons())
    assert [m[M.EPOCH] for m in reports] == [2, 5, 7]
    assert KEYS - {M.LAMBDA_P, M.LR_P} <= set(reports[-1]) and reports[-1][M.SOURCE_ACC] > 0.8


def test_train_on_target_reference_is_cached(tmp_path, monkeypatch):
    import trainables.dann_reference as reference

    monkeypatch.setattr(reference, "MIN_STEPS", 20)  # the recipe's length is part of the cache key
    data = _tiny(n=256)
    first = prepare_reference(data, tmp_path)

    def trains_again(*args, **kwargs):
        raise AssertionError("the cached reference was trained again")

    monkeypatch.setattr(reference, "train_on_target", trains_again)
    again = prepare_reference(data, tmp_path)
    assert first[M.TARGET_ONLY_TEST_ACC] == again[M.TARGET_ONLY_TEST_ACC] and 0 <= first[M.TARGET_ONLY_VAL_ACC] <= 1
    assert again["target_only_file"].startswith(str(tmp_path)) and not list(tmp_path.rglob(".*.tmp"))
