"""The DANN studies' spaces: valid configs in every profile, and the enqueued baselines really are
the paper's DANN and its baseline (a misspelt key would silently be sampled instead)."""

import optuna
import pytest

from search_spaces import STUDIES
from study.resolve import resolve

DANN_STUDIES = ("dann_moons", "dann_mnist_m", "dann_moons_oracle", "dann_mnist_m_oracle")


@pytest.mark.parametrize("name,profile", [(n, p) for n in DANN_STUDIES for p in ("smoke", "quick", "full")])
def test_space_samples_valid_configs(name, profile):
    r = resolve(name, profile)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(30):
        trial = study.ask()
        cfg = r.family.make_config(r.sample(trial))  # typed: bad values raise
        assert r.family.n_reports(cfg) == r.max_t and r.n_params(cfg.to_dict()) < 300_000
        study.tell(trial, 0.0)


@pytest.mark.parametrize("name", DANN_STUDIES)
def test_baselines_are_enqueued_as_written(name):
    s = STUDIES[name]
    r = resolve(name, "quick")
    study = optuna.create_study()
    for point in s.baselines:
        study.enqueue_trial(dict(point))
    configs = [r.sample(study.ask()) for _ in s.baselines]
    for point, config in zip(s.baselines, configs):
        assert {k: config[k] for k in point} == point
    if name.startswith("dann_moons"):
        assert [c["adversarial"] for c in configs] == [True, False]
        assert all((c["lambda_adapt"], c["lr"], c["hidden"], c["max_epochs"]) == (6.0, 0.05, 15, 500) for c in configs)
    else:
        assert [c["lambda_max"] for c in configs] == [1.0, 0.0]  # the paper's DANN, then source only
        assert all((c["lr"], c["lr_alpha"], c["lr_beta"], c["gamma"], c["batch_size"]) == (0.01, 10.0, 0.75, 10.0, 128)
                   for c in configs)


def test_data_keys_are_fixed_not_searched():
    r = resolve("dann_mnist_m", "smoke")
    assert r.fixed["source_train_size"] == 4096 and r.fixed["batch_size"] == 32
    sampled = r.sample(optuna.create_study().ask())
    assert sampled["batch_size"] == 32 and sampled["photos"] == "skimage"


def test_default_studies_select_without_target_labels_and_the_oracle_is_kept_by_name():
    from trainables import metric_names as M

    for name in ("dann_moons", "dann_mnist_m"):
        default, oracle = STUDIES[name], STUDIES[f"{name}_oracle"]
        assert (default.metric, default.mode, default.test_metric) == (M.VAL_DEV_RISK, "min", M.TARGET_TEST_ACC)
        assert (oracle.metric, oracle.mode, oracle.test_metric) == (M.TARGET_VAL_ACC, "max", M.TARGET_TEST_ACC)
        assert oracle.space is default.space and oracle.profiles is default.profiles
