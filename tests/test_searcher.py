"""The TPE searcher: the parameter cap, proposal counting, how ASHA stops are told to Optuna."""

import optuna
from ray.tune.search import Searcher

from study.resolve import resolve
from study.tuner import make_searcher


def _searcher(*sets, cap=None, n=6):
    return make_searcher(resolve("vae_beta_sweep", "smoke", list(sets), num_samples=n, param_cap=cap))


def test_over_cap_configs_are_never_suggested_and_are_counted():
    s = _searcher("arch=mlp", "depth=2", cap=150_000, n=12)
    suggested = []
    while (config := s.suggest(f"t{len(suggested)}")) != Searcher.FINISHED:
        suggested.append(config)
        s.on_trial_complete(f"t{len(suggested) - 1}", {"val_nelbo": 150.0, "training_iteration": 4})
    r = resolve("vae_beta_sweep", "smoke", ["arch=mlp", "depth=2"])
    assert all(r.n_params(c) <= 150_000 for c in suggested)
    assert len(suggested) + len(s.rejected) == 12 == s.proposed
    assert s.rejected and all(x.n_params > 150_000 for x in s.rejected)
    infeasible = [t for t in s.study.trials if t.constraints["param_cap"] > 0]
    assert len(infeasible) == len(s.rejected)  # told to Optuna as infeasible


def test_everything_over_cap_suggests_nothing():
    s = _searcher("arch=mlp", "width=8192", "depth=4")
    assert s.suggest("t0") == Searcher.FINISHED
    assert len(s.rejected) == 6


def test_asha_stopped_trial_is_pruned_and_finished_trial_complete():
    s = _searcher(n=2)
    a, b = s.suggest("a"), s.suggest("b")
    assert a and b
    for step in (1, 2):
        s.on_trial_result("a", {"val_nelbo": 200.0 - step, "training_iteration": step})
    s.on_trial_complete("a", {"val_nelbo": 198.0, "training_iteration": 2})  # max_t is 4: stopped early
    s.on_trial_result("b", {"val_nelbo": 150.0, "training_iteration": 4})
    s.on_trial_complete("b", {"val_nelbo": 150.0, "training_iteration": 4})
    states = [t.state for t in s.study.trials]
    assert states == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE]
    assert s.study.trials[0].intermediate_values == {1: 199.0, 2: 198.0}
    assert s.study.best_value == 150.0


def test_errored_trial_is_failed():
    s = _searcher(n=1)
    s.suggest("a")
    s.on_trial_complete("a", None, error=True)
    assert s.study.trials[0].state == optuna.trial.TrialState.FAIL


def test_save_and_restore_keep_the_search_state(tmp_path):
    s = _searcher(n=4)
    s.suggest("a")
    s.on_trial_complete("a", {"val_nelbo": 150.0, "training_iteration": 4})
    s.suggest("b")
    s.save(str(tmp_path / "s.pkl"))
    t = _searcher(n=4)
    t.restore(str(tmp_path / "s.pkl"))
    assert t.proposed == 2 and len(t.study.trials) == 2 and "b" in t.live
    t.on_trial_complete("b", {"val_nelbo": 140.0, "training_iteration": 4})
    assert t.study.best_value == 140.0


def test_baselines_are_proposed_first_in_quick():
    s = make_searcher(resolve("vae_beta_sweep", "quick"))
    first, second = s.suggest("a"), s.suggest("b")
    assert (first["arch"], first["beta"], first["width"]) == ("conv", 1.0, 32)
    assert (second["arch"], second["beta"], second["width"]) == ("mlp", 1.0, 512)


def test_searcher_limits_concurrency_itself():
    s = make_searcher(resolve("vae_beta_sweep", "smoke", max_concurrent=2))
    assert s.set_max_concurrency(2) is True
    assert s.suggest("a") and s.suggest("b")
    assert s.suggest("c") is None  # two running: wait
    s.on_trial_complete("a", {"val_nelbo": 150.0, "training_iteration": 4})
    assert s.suggest("c")
