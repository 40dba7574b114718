"""Every study's space samples into configs that build; --set parsing; the registry contract."""

import optuna
import pytest

from record.errors import UsageError
from search_spaces import STUDIES
from study.resolve import parse_sets, resolve
from trainables.configs import CONFIGS
from trainables.families import FAMILIES

CASES = [(name, profile) for name, s in STUDIES.items() for profile in s.profiles]


@pytest.mark.parametrize("name,profile", CASES)
def test_every_study_space_samples_valid_configs(name, profile):
    r = resolve(name, profile)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(25):
        trial = study.ask()
        config = r.sample(trial)
        cfg = r.family.make_config(config)  # typed: unknown keys or bad values raise
        assert config["max_epochs"] == r.max_epochs and config["seed"] == r.seed
        for key, value in r.fixed.items():
            assert config[key] == value, key
        assert r.n_params(config) > 0
        assert r.family.n_reports(cfg) == r.max_t
        study.tell(trial, 0.0)


@pytest.mark.parametrize("name", list(STUDIES))
def test_study_record_is_complete(name):
    s = STUDIES[name]
    assert s.name == name and s.family in FAMILIES and s.mode in ("min", "max")
    assert {"smoke", "quick", "full"} <= set(s.profiles)
    assert s.name.count("_") >= 1  # <model>_<question>


def test_set_fixes_a_searched_parameter():
    r = resolve("vae_beta_sweep", "smoke", ["beta=1.5", "arch=conv", "batchnorm=true"])
    study = optuna.create_study()
    config = r.sample(study.ask())
    assert (config["beta"], config["arch"], config["batchnorm"]) == (1.5, "conv", True)


def test_parse_sets_types_and_errors():
    fam = CONFIGS["vae"]
    assert parse_sets(["latent_dim=8", "train_size=none", "lr=1e-3"], fam) == \
        {"latent_dim": 8, "train_size": None, "lr": 1e-3}
    with pytest.raises(UsageError, match="unknown --set key 'betta'.*beta"):
        parse_sets(["betta=1"], fam)
    with pytest.raises(UsageError, match="expected int"):
        parse_sets(["latent_dim=many"], fam)
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_sets(["beta"], fam)


def test_bad_value_is_caught_before_ray():
    with pytest.raises(UsageError, match="arch must be one of"):
        resolve("vae_beta_sweep", "smoke", ["arch=rnn"])


def test_unknown_study_lists_valid_names():
    with pytest.raises(UsageError, match="vae_beta_sweep"):
        resolve("vae_beta", "smoke")
