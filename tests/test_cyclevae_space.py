"""The cycle-consistent VAE studies: their spaces sample configs that build, the profiles fix what they say."""

import optuna
import pytest

from record.errors import UsageError
from search_spaces import STUDIES
from study.resolve import resolve
from trainables.cyclevae_config import CycleVAEConfig
from trainables.families import FAMILIES


def _sample(name: str, profile: str, n: int = 40, sets=None) -> list[dict]:
    r = resolve(name, profile, sets)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(r.sample(trial))
        study.tell(trial, 0.0)
    return out


def test_mnist_space_samples_in_range_and_builds():
    configs = _sample("cyclevae_sweep", "full")
    for c in configs:
        cfg = CycleVAEConfig(**c)
        assert cfg.dataset == "mnist" and cfg.max_epochs == 100
        assert 1.0 <= cfg.recon_weight <= 4.0 and 1.0 <= cfg.kl_weight <= 10.0 and 1 <= cfg.reverse_weight <= 100
        assert 1e-4 <= cfg.lr <= 3e-3
        assert FAMILIES["cyclevae"].n_params(cfg) < 1_000_000  # MNIST models are far under the cap
    for key in ("z_dim", "s_dim"):  # Table 1's sizes (16/16 and 64/64) are in the space
        assert {c[key] for c in configs} >= {16, 64}


def test_quick_profile_is_mnist_16_16():
    for c in _sample("cyclevae_sweep", "quick", n=10):
        assert (c["dataset"], c["z_dim"], c["s_dim"]) == ("mnist", 16, 16)
        assert c["train_size"] is None  # all 50,000 training images


def test_sprites_space_uses_table_1_sizes():
    configs = _sample("cyclevae_sprites_sweep", "full")
    assert {c["dataset"] for c in configs} == {"sprites"}
    assert {c["z_dim"] for c in configs} == {512, 1024} and {c["s_dim"] for c in configs} == {64, 512}
    assert all(FAMILIES["cyclevae"].n_params(CycleVAEConfig(**c)) < 25_000_000 for c in configs)


@pytest.mark.parametrize("name", ["cyclevae_sweep", "cyclevae_sprites_sweep"])
def test_baseline_is_a_point_of_the_space(name):
    s = STUDIES[name]
    r = resolve(name, "full")
    study = optuna.create_study()
    study.enqueue_trial(dict(s.baseline))
    trial = study.ask()
    config = r.sample(trial)
    assert all(config[k] == v for k, v in s.baseline.items())


def test_a_latent_size_over_the_cap_is_counted_over_it():
    c = _sample("cyclevae_sweep", "smoke", n=1)[0]
    assert FAMILIES["cyclevae"].n_params(CycleVAEConfig(**{**c, "z_dim": 200_000})) > 25_000_000
    with pytest.raises(UsageError, match="over the 25,000,000-parameter cap"):  # refused before anything starts
        resolve("cyclevae_sweep", "smoke", ["z_dim=200000"])
