"""The TPE searcher: the parameter cap, proposal counting, how ASHA stops are told to Optuna."""

import dataclasses

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
    # resolve refuses a space whose every sampled config is over the cap (exit 2 before Ray); the searcher
    # still rejects every proposal over a cap lowered after resolving
    r = resolve("vae_beta_sweep", "smoke", ["arch=mlp", "width=8192", "depth=4"], num_samples=6, param_cap=10**9)
    s = make_searcher(dataclasses.replace(r, param_cap=25_000_000))
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


def test_importing_study_leaves_optunas_log_level_alone():
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("import optuna; before = optuna.logging.get_verbosity(); import study, study.searcher, study.tuner, "
            "study.run; print(before, optuna.logging.get_verbosity())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    before, after = out.stdout.split()
    assert before == after == str(optuna.logging.INFO), out.stderr[-2000:]


def test_saved_state_is_json_with_an_optuna_journal_beside_it(tmp_path):
    import json

    from optuna.storages.journal import JournalFileBackend, JournalStorage

    s = _searcher(n=4)
    s.suggest("a")
    for step in (1, 2):
        s.on_trial_result("a", {"val_nelbo": 200.0 - step, "training_iteration": step})
    s.on_trial_complete("a", {"val_nelbo": 198.0, "training_iteration": 2})
    s.suggest("b")
    s.save(str(tmp_path / "searcher-state.pkl"))
    state = json.loads((tmp_path / "searcher-state.pkl").read_text())  # no pickle of Optuna objects
    assert state["proposed"] == 2 and state["live"] == {"b": 1}
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "optuna_journal.log")))  # what optuna-dashboard opens
    study = optuna.load_study(study_name=state["study_name"], storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING]
    assert study.trials[0].intermediate_values == {1: 199.0, 2: 198.0}
    assert study.trials[0].params == s.study.trials[0].params


def test_a_restored_trial_keeps_reporting_and_ends_in_the_journal(tmp_path):
    s = _searcher(n=2)
    s.suggest("a")
    s.on_trial_result("a", {"val_nelbo": 180.0, "training_iteration": 1})
    s.save(str(tmp_path / "s.pkl"))
    t = _searcher(n=2)
    t.restore(str(tmp_path / "s.pkl"))
    t.on_trial_result("a", {"val_nelbo": 170.0, "training_iteration": 2})  # the resumed trial's next epoch
    t.on_trial_complete("a", {"val_nelbo": 170.0, "training_iteration": 2})
    assert t.study.trials[0].intermediate_values == {1: 180.0, 2: 170.0}
    assert t.study.trials[0].state == optuna.trial.TrialState.PRUNED


def test_tune_can_pickle_the_searcher_without_optuna_objects():
    import pickle

    s = _searcher(n=3)
    s.suggest("a")
    copy = pickle.loads(pickle.dumps(s))
    assert copy.proposed == 1 and "a" in copy.live and len(copy.study.trials) == 1
    copy.on_trial_complete("a", {"val_nelbo": 120.0, "training_iteration": 4})
    assert copy.study.best_value == 120.0


def test_resumed_random_search_does_not_propose_its_first_configurations_again(tmp_path):
    s = make_searcher(resolve("vae_beta_sweep", "smoke", [], num_samples=6, searcher="random"))
    first = []
    for i in range(3):
        first.append(s.suggest(f"t{i}"))
        s.on_trial_complete(f"t{i}", {"val_nelbo": 150.0, "training_iteration": 4})
    s.save(str(tmp_path / "s.pkl"))
    t = make_searcher(resolve("vae_beta_sweep", "smoke", [], num_samples=6, searcher="random"))
    t.restore(str(tmp_path / "s.pkl"))
    later = [t.suggest("t3")]
    assert later[0] is not None and all(later[0]["lr"] != c["lr"] for c in first)


def test_tpe_models_parameters_jointly_with_conditional_groups(monkeypatch):
    seen = {}

    class Recording(optuna.samplers.TPESampler):
        def __init__(self, **kwargs):
            seen.update(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(optuna.samplers, "TPESampler", Recording)
    s = _searcher()
    assert isinstance(s.study.sampler, Recording)
    assert seen["multivariate"] is True and seen["group"] is True and seen["constant_liar"] is True


def test_searcher_uses_no_private_optuna_name():
    import ast
    import inspect

    from study import searcher

    tree = ast.parse(inspect.getsource(searcher))
    private = [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr.startswith("_")
               and not node.attr.endswith("__") and not (isinstance(node.value, ast.Name) and node.value.id == "self")]
    assert private == []
