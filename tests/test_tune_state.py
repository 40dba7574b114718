"""The last whole copy of Tune's experiment state: made only of a whole state, put back only over a broken one."""

from __future__ import annotations

import json
import pickle

from study import tune_state


def _state(folder, n_trials: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "experiment_state-2026.json").write_text(json.dumps({"trial_data": list(range(n_trials))}))
    (folder / "search_gen_state-2026.json").write_bytes(pickle.dumps({"n": n_trials}))  # Tune's: a pickle
    (folder / "searcher-state-2026.pkl").write_text(json.dumps({"proposed": n_trials}))  # genstudy's: JSON
    (folder / "tuner.pkl").write_bytes(pickle.dumps("tuner"))
    (folder / "optuna_journal.log").write_text(f"{n_trials}\n")


def test_a_truncated_state_is_restored_from_the_last_whole_copy(tmp_path):
    _state(tmp_path, 2)
    assert tune_state.readable(tmp_path) and tune_state.backup(tmp_path)
    _state(tmp_path, 3)
    state = tmp_path / "experiment_state-2026.json"
    state.write_text(state.read_text()[:10])  # a disk that filled while Tune copied it
    assert not tune_state.readable(tmp_path) and not tune_state.backup(tmp_path)  # no backup of a broken state
    assert tune_state.repair(tmp_path)
    assert json.loads(state.read_text()) == {"trial_data": [0, 1]} and tune_state.readable(tmp_path)
    assert (tmp_path / "optuna_journal.log").read_text() == "2\n"  # the searcher's journal of the same moment


def test_a_truncated_pickle_is_broken_and_a_whole_state_is_left_alone(tmp_path):
    _state(tmp_path, 2)
    tune_state.backup(tmp_path)
    _state(tmp_path, 3)
    assert not tune_state.repair(tmp_path)  # whole: nothing to repair
    assert json.loads((tmp_path / "experiment_state-2026.json").read_text()) == {"trial_data": [0, 1, 2]}
    tuner = tmp_path / "tuner.pkl"
    tuner.write_bytes(tuner.read_bytes()[:-1])
    assert not tune_state.readable(tmp_path)


def test_no_backup_means_no_repair(tmp_path):
    _state(tmp_path, 1)
    (tmp_path / "experiment_state-2026.json").write_text("{")
    assert not tune_state.repair(tmp_path)
