"""Several objectives (``--objectives val_nelbo,n_params``) without Ray running: the Pareto front, the searcher's
multi-objective tell (a stopped-early trial is PRUNED, never on the front), what is refused, the front ranked in
best_config.yaml and the report's table, and the objectives surviving ``--resume``. The study end to end is
tests/test_objectives_e2e.py."""

import json
import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from analysis import best_config, pareto
from analysis.record import StudyRecord, Trial
from record import config_file
from record import schema as S
from record.errors import UsageError
from record.objectives import Objective, decode, encode, non_dominated, ranked_front
from study import invocation
from study.cli import build_parser
from study.resolve import resolve
from study.tuner import make_searcher

MO = "val_nelbo,n_params"
COMPLETE, PRUNED, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL


def test_the_front_is_the_points_no_other_point_beats_in_every_objective():
    points = [(100, 5), (90, 9), (95, 5), (100, 4), (120, 3), (95, 5)]
    # (100, 5) is beaten by (95, 5); the two (95, 5) tie, and neither beats the other
    assert non_dominated(points, ("min", "min")) == [1, 2, 3, 4, 5]
    assert ranked_front(points, ("min", "min")) == [1, 2, 5, 3, 4]  # by the first objective, then the next
    assert non_dominated(points, ("min", "max")) == [1]  # (90, 9) beats every other point when 9 is best
    assert ranked_front([(1, 2, 3), (1, 2, 4), (2, 1, 9)], ("min", "min", "min")) == [0, 2]


def test_objectives_are_recorded_and_read_back():
    objectives = (Objective("val_nelbo", "min", "test_nelbo"), Objective("n_params", "min"))
    assert encode(objectives) == "val_nelbo:min:test_nelbo,n_params:min"
    assert decode(encode(objectives)) == objectives and decode(None) == ()


def _searcher(n=3):
    return make_searcher(resolve("vae_beta_sweep", "smoke", num_samples=n, objectives=MO))


def _report(s, trial_id, values, end=None):
    for step, value in enumerate(values, 1):
        s.on_trial_result(trial_id, {"val_nelbo": value, "training_iteration": step})
    s.on_trial_complete(trial_id, {"val_nelbo": values[-1], "training_iteration": end or len(values)})


def test_a_finished_trial_is_told_its_best_first_objective_and_its_size():
    s = _searcher()
    assert s.study.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
    config = s.suggest("a")
    _report(s, "a", [190.0, 150.0, 160.0, 155.0])  # max_t 4: finished
    (t,) = s.study.trials
    size = resolve("vae_beta_sweep", "smoke").n_params(config)
    assert t.state == COMPLETE and t.values == [150.0, float(size)]  # the best report's value, not the last
    assert t.constraints["param_cap"] <= 0  # the cap is still a constraint
    assert [x.number for x in s.study.best_trials] == [0]


def test_a_trial_asha_stopped_is_pruned_and_never_on_the_front():
    s = _searcher()
    s.suggest("a"), s.suggest("b")
    _report(s, "b", [120.0], end=1)  # stopped early after report 1, with a better value than a ever had
    _report(s, "a", [190.0, 170.0, 160.0, 155.0])
    assert [t.state for t in s.study.trials] == [COMPLETE, PRUNED]
    assert s.study.trials[1].values is None
    assert [t.number for t in s.study.best_trials] == [0]


def test_a_failed_or_diverged_trial_or_one_without_every_objective_is_failed():
    s = _searcher()
    s.suggest("a"), s.suggest("b")
    s.on_trial_complete("a", None, error=True)
    _report(s, "b", [float("nan")] * 4)
    s.suggest("c")
    with warnings.catch_warnings():  # told FAIL by the searcher, not a tell of too few values that Optuna warns of
        warnings.simplefilter("error")
        s.on_trial_complete("c", {"val_nelbo": 150.0, "training_iteration": 4})  # no report kept: no values to tell
    assert [t.state for t in s.study.trials] == [FAIL, FAIL, FAIL]


def test_the_best_report_so_far_survives_save_restore_and_pickling(tmp_path):
    s = _searcher(n=2)
    s.suggest("a")
    s.on_trial_result("a", {"val_nelbo": 150.0, "training_iteration": 1})
    s.save(str(tmp_path / "s.pkl"))
    t = _searcher(n=2)
    t.restore(str(tmp_path / "s.pkl"))
    u = pickle.loads(pickle.dumps(t))  # Tune pickles the searcher with the Tuner
    for resumed in (t, u):
        for step in (2, 3, 4):
            resumed.on_trial_result("a", {"val_nelbo": 150.0 + step, "training_iteration": step})
        resumed.on_trial_complete("a", {"val_nelbo": 154.0, "training_iteration": 4})
        assert resumed.study.trials[0].values[0] == 150.0


@pytest.mark.parametrize("objectives, kw, message", [
    ("val_nelbo,n_params", {"scheduler": "pbt"}, "--objectives with --scheduler pbt: PBT copies"),
    ("val_nelbo,n_params", {"scheduler": "pb2"}, "--objectives with --scheduler pb2: PB2 copies"),
    ("val_nelbo,n_params", {"confirm": 2}, "--confirm 2 with --objectives"),
    ("val_recon,val_nelbo", {"searcher": "grid", "sets": ["beta=1,2"]}, "--objectives with --searcher grid"),
])
def test_what_several_objectives_cannot_serve_is_refused(objectives, kw, message):
    # the CLI's refusals (one line, exit 2) are tests/test_bad_input.py's; pbt is not a choice of this CLI yet
    with pytest.raises(UsageError, match=message):
        resolve("vae_beta_sweep", "smoke", objectives=objectives, **kw)


def test_the_first_objective_becomes_the_study_metric_and_confirmation_is_off():
    r = resolve("vae_beta_sweep", "quick", objectives="val_recon,n_params")  # quick confirms its top 2 by default
    assert (r.study.metric, r.study.mode, r.study.test_metric) == ("val_recon", "min", "test_recon")
    assert r.confirm == 0 and [o.name for o in r.objectives] == ["val_recon", "n_params"]
    assert resolve("vae_beta_sweep", "quick").confirm == 2


def test_objectives_survive_resume(tmp_path):
    args = build_parser().parse_args(["vae_beta_sweep", "--objectives", MO])
    invocation.save(str(tmp_path), args, "parent", "1", "sqlite:///m.db", Path("/data"), "val_nelbo")
    record = json.loads((tmp_path / invocation.RECORD_FILE).read_text())
    resumed = build_parser().parse_args(["vae_beta_sweep", "--resume"])
    invocation.apply(resumed, record)
    assert resumed.objectives == MO
    del record[S.OBJECTIVES]  # a run recorded before --objectives had one objective, whatever is asked now
    again = build_parser().parse_args(["vae_beta_sweep", "--resume", "--objectives", MO])
    invocation.apply(again, record)
    assert again.objectives is None


def _trial(i, status, values, n_params):
    return Trial(run_id=f"run{i}", trial_id=f"t{i}", status=status, epochs=len(values), config={"seed": i, "beta": 1.0},
                 history={"val_nelbo": list(enumerate(values, 1)), "test_nelbo": [(s, v + 1) for s, v in enumerate(values, 1)]},
                 n_params=n_params)


@pytest.fixture
def record():
    trials = [_trial(0, S.FINISHED, [300, 200, 150, 140], 1000), _trial(1, S.FINISHED, [250, 180, 170, 175], 500),
              _trial(2, S.FINISHED, [260, 200, 190, 185], 2000),  # beaten by t0 in both
              _trial(3, S.STOPPED_EARLY, [130], 100),  # would beat every other: stopped early, not a candidate
              _trial(4, S.FAILED, [float("nan")], 50)]
    params = {S.METRIC: "val_nelbo", S.MODE: "min", S.OBJECTIVES: "val_nelbo:min:test_nelbo,n_params:min"}
    return StudyRecord("vae_beta_sweep", "vae", "sqlite:///x.db", "1", "p", "p-name", "FINISHED", "val_nelbo", "min",
                       params, {}, {}, trials, max_reports=4, test_metric="test_nelbo")


def test_best_config_holds_the_front_ranked_by_the_first_objective(record, tmp_path):
    doc = best_config.write(record, tmp_path / "best_config.yaml")
    assert [(e["rank"], e["trial_id"]) for e in doc["top_k"]] == [(1, "t0"), (2, "t1")]
    assert doc["top_k"][1]["objectives"] == {"val_nelbo": 170, "test_nelbo": 171, "n_params": 500}  # at its best report
    assert doc["best"]["trial_id"] == "t0"
    text = (tmp_path / "best_config.yaml").read_text()
    assert text.startswith("# the Pareto front of val_nelbo (min) and n_params (min): ") and "ordered by val_nelbo" in text
    assert config_file.read(tmp_path / "best_config.yaml", rank=2)[2] == {"seed": 1, "beta": 1.0}  # --rank 2
    table = pareto.table(record, doc)
    assert table.title == "Pareto front" and "2 of 3 finished trials" in table.caption
    assert all(f"<td>{x}</td>" in table.html for x in ("t0", "t1", "run1", "171", "500")) and "t3" not in table.html


def test_a_single_objective_best_config_is_unchanged(record, tmp_path):
    del record.params[S.OBJECTIVES]
    doc = best_config.write(record, tmp_path / "best_config.yaml")
    assert "objectives" not in doc and not (tmp_path / "best_config.yaml").read_text().startswith("#")
    assert [e["trial_id"] for e in doc["top_k"]] == ["t3", "t0", "t1", "t2"]  # scored: stopped early ones too


class _Client:
    """The one MLflow call study.pareto makes, over the hand-made record's histories."""

    def __init__(self, record):
        self.runs = {t.run_id: {**t.history, "n_params": [(1, t.n_params)]} for t in record.trials}

    def get_metric_history(self, run_id, metric):
        return [SimpleNamespace(step=s, value=v) for s, v in self.runs[run_id].get(metric, [])]


def test_the_printed_front_is_the_exported_one(record):
    from record.reader import Outcome
    from study import pareto as printed

    outcomes = {}
    for t in record.trials:
        report, value = t.best("val_nelbo", "min") or (None, None)
        outcomes[t.trial_id] = Outcome(t.trial_id, t.run_id, t.status, t.epochs, best=value, best_report=report)
    front = printed.front(_Client(record), outcomes, record.objectives)
    assert [(o.trial_id, v) for o, v in front] == [(t.trial_id, v) for t, v in pareto.front(record)]
    assert [o.trial_id for o, _ in front] == ["t0", "t1"]  # t3, stopped early, beat both: not a candidate
    lines = printed.lines(record.objectives, front, n_finished=3, n_stopped=1)
    assert lines[0].startswith("Pareto front of val_nelbo (min) and n_params (min): 2 of 3 finished trials "
                               "non-dominated; stopped early by ASHA, so not candidates: 1")
    assert lines[1].split() == ["rank", "trial", "val_nelbo", "test_nelbo", "n_params", "run"]
    assert lines[3].split() == ["2", "t1", "170.0000", "171.0000", "500", "run1"]


def test_several_objectives_train_every_trial_to_the_end_unless_asha_is_asked_for():
    """ASHA would stop trials on the first objective alone, and a stopped trial is not on the front."""
    from study.resolve import resolve

    assert resolve("vae_beta_sweep", "smoke", objectives="val_nelbo,n_params").scheduler == "fifo"
    assert resolve("vae_beta_sweep", "smoke", objectives="val_nelbo,n_params", scheduler="asha").scheduler == "asha"
    assert resolve("vae_beta_sweep", "smoke").scheduler == "asha"
