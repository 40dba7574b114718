"""Grid search: every grid point proposed exactly once, the parameter cap still applied, no early
stopping by default, ``--set KEY=a,b,c`` lists, and a resumed grid that continues where it stopped."""

import itertools

import pytest
from ray.tune.search import Searcher

from record.errors import UsageError
from study.resolve import resolve
from study.tuner import make_searcher


def _drain(searcher, result_key="val_nelbo", reports=2):
    """Suggest until FINISHED, completing each trial at once; returns the configs proposed to Tune."""
    configs = []
    while (config := searcher.suggest(f"t{len(configs)}")) != Searcher.FINISHED:
        assert config is not None, "the searcher waited with no trial running"
        configs.append(config)
        searcher.on_trial_complete(f"t{len(configs) - 1}", {result_key: 100.0, "training_iteration": reports})
    return configs


def test_beta_grid_trains_every_point_once_without_early_stopping():
    r = resolve("vae_beta_grid", "smoke")
    assert (r.searcher, r.scheduler, r.num_samples) == ("grid", "fifo", 6)
    configs = _drain(make_searcher(r))
    points = [(c["beta"], c["beta_schedule"]) for c in configs]
    assert sorted(points) == sorted(itertools.product([0.8, 1.0, 1.2], ["constant", "linear"]))
    # the seed's MLP (pytorch/examples: 784-400-20) in every trial
    assert {(c["arch"], c["depth"], c["width"], c["latent_dim"]) for c in configs} == {("mlp", 1, 400, 20)}


def test_grid_applies_the_parameter_cap_to_each_point():
    r = resolve("ae_latent_grid", "smoke")
    sizes = {d: r.n_params({**r.complete({}), "latent_dim": d}) for d in (16, 128, 1024)}
    assert sizes[16] < sizes[128] < sizes[1024]
    s = make_searcher(resolve("ae_latent_grid", "smoke", param_cap=sizes[128]))
    configs = _drain(s, "val_recon")
    assert sorted(c["latent_dim"] for c in configs) == [16, 128]  # 1024 is over the cap: never trained
    assert s.proposed == 3 and [x.config["latent_dim"] for x in s.rejected] == [1024]
    assert s.rejected[0].n_params == sizes[1024]


def test_set_lists_make_a_grid_crossed_with_the_sampled_keys():
    r = resolve("vae_beta_sweep", "smoke", ["beta=0.5,2", "latent_dim=4,8"], searcher="grid")
    assert r.grid == {"beta": [0.5, 2.0], "latent_dim": [4, 8]} and r.num_samples == 4 and r.scheduler == "fifo"
    s = make_searcher(r)
    configs = _drain(s, reports=r.max_t)
    assert sorted((c["beta"], c["latent_dim"]) for c in configs) == [(0.5, 4), (0.5, 8), (2.0, 4), (2.0, 8)]
    assert len({(c["arch"], c["lr"]) for c in configs}) > 1  # the other keys are drawn at random, seeded
    again = _drain(make_searcher(r), reports=r.max_t)
    assert [(c["arch"], c["lr"]) for c in again] == [(c["arch"], c["lr"]) for c in configs]
    assert {t.params["beta"] for t in s.study.trials} == {0.5, 2.0}  # grid keys under their config names


def test_a_single_set_value_takes_its_key_off_the_grid():
    r = resolve("vae_beta_grid", "smoke", ["beta=1"])
    assert r.grid == {"beta_schedule": ["constant", "linear"]} and r.fixed["beta"] == 1.0 and r.num_samples == 2


def test_every_key_fixed_leaves_no_grid_and_one_tpe_trial():
    r = resolve("vae_beta_grid", "smoke", ["beta=1", "beta_schedule=linear"], num_samples=1, scheduler="fifo")
    assert (r.searcher, r.grid, r.num_samples) == ("tpe", {}, 1)  # what --from-config does with a grid study's best


@pytest.mark.parametrize("kwargs, message", [
    ({"sets": ["beta=0.5,1"]}, "add --searcher grid"),
    ({"sets": ["beta=0.5,1"], "searcher": "grid", "num_samples": 4}, "drop --num-samples"),
    ({"searcher": "grid"}, "has no grid"),
    ({"sets": ["beta=1,1.0"], "searcher": "grid"}, "listed twice"),
    ({"sets": ["beta=-1,1"], "searcher": "grid"}, "beta must be >= 0"),
    ({"sets": ["latent_dim=4,x"], "searcher": "grid"}, "expected int"),
])
def test_bad_grids_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        resolve("vae_beta_sweep", "smoke", **kwargs)


def test_a_restored_grid_search_proposes_only_the_points_left(tmp_path):
    r = resolve("vae_beta_grid", "smoke")
    s = make_searcher(r)
    first = [s.suggest("a"), s.suggest("b")]
    s.on_trial_complete("a", {"val_nelbo": 100.0, "training_iteration": r.max_t})
    s.save(str(tmp_path / "s.pkl"))
    t = make_searcher(r)
    t.restore(str(tmp_path / "s.pkl"))
    t.on_trial_complete("b", {"val_nelbo": 90.0, "training_iteration": r.max_t})
    rest = _drain(t, reports=r.max_t)
    points = [(c["beta"], c["beta_schedule"]) for c in first + rest]
    assert len(rest) == 4 and sorted(points) == sorted(itertools.product([0.8, 1.0, 1.2], ["constant", "linear"]))
