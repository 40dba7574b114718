"""The confirmation's pure parts: which configurations, which seeds, the summary (with the final metrics measured
on each seed's kept checkpoint, or without), the searcher that hands them out."""

import json
import math

import pytest

from record.reader import Outcome
from study import confirm
from study.tuner import FixedPointsSearch
from tests.conftest import new_sqlite
from trainables import metric_names as M


def _outcome(best, status="finished", run="r"):
    return Outcome("t", run, status, 3, best=best, test=None if best is None else best + 1)


def _run(of, best, test, status="finished", run="r"):
    return Outcome("x", run, status, 3, best=best, test=test, confirm_of=of)


def test_candidates_are_the_best_distinct_configurations_that_trained():
    outcomes = {"a": _outcome(10.0), "b": _outcome(8.0), "c": _outcome(9.0, "stopped_early"),
                "d": _outcome(1.0, "failed"), "e": _outcome(None), "f": _outcome(8.5)}
    configs = {t: {"width": w, "seed": 0} for t, w in zip("abcdef", (1, 2, 3, 4, 5, 2))}  # f repeats b's config
    picked = confirm.candidates(outcomes, configs, 3, "min")
    assert [c.trial_id for c in picked] == ["b", "c", "a"] and [c.rank for c in picked] == [1, 2, 3]
    assert [c.trial_id for c in confirm.candidates(outcomes, configs, 2, "max")] == ["a", "c"]


def test_fresh_seeds_differ_from_the_search_seed_and_are_stable():
    seeds = confirm.fresh_seeds(0, 3)
    assert len(set(seeds)) == 3 and 0 not in seeds and seeds == confirm.fresh_seeds(0, 3)
    assert not set(seeds) & set(confirm.fresh_seeds(1, 3))


def test_points_and_tags_name_every_trial_by_config_and_seed():
    cands = [confirm.Candidate(1, "t1", "r1", 5.0, {"width": 8, "seed": 0}),
             confirm.Candidate(2, "t2", "r2", 6.0, {"width": 16, "seed": 0})]
    points = confirm.points(cands, [11, 12])
    assert points == [{"width": 8, "seed": 11}, {"width": 8, "seed": 12}, {"width": 16, "seed": 11},
                      {"width": 16, "seed": 12}]
    tags = confirm.point_tags(cands, [11, 12])
    assert tags[confirm.point_key(points[3])] == {"phase": "confirm", "confirm_rank": "2", "confirm_of": "t2",
                                                  "confirm_seed": "12"}


def test_summary_ranks_by_the_mean_and_says_when_the_order_changed():
    cands = [confirm.Candidate(1, "t1", "r1", 5.0, {}), confirm.Candidate(2, "t2", "r2", 6.0, {})]
    runs = {"x1": _run("t1", 7.0, 7.5), "x2": _run("t1", 9.0, 9.5), "y1": _run("t2", 6.0, 6.1),
            "y2": _run("t2", 6.5, None), "y3": _run("t2", 1.0, 1.0, "failed")}  # failed seeds do not count
    rows = confirm.summarise(cands, runs, "min")
    assert [r.trial_id for r in rows] == ["t2", "t1"] and confirm.order_changed(rows)
    assert rows[1].mean == pytest.approx(8.0) and rows[1].sd == pytest.approx(math.sqrt(2))
    assert rows[0].tests == [6.1] and math.isnan(rows[0].test_sd)
    text = "\n".join(confirm.summary_lines(rows, "val_nelbo", "test_nelbo", 2))
    assert "8.000 ± 1.414" in text and "the order changed" in text
    assert not confirm.order_changed(confirm.summarise(cands, runs, "max"))


def test_confirmation_ranks_by_the_validation_mean_never_the_test_mean():
    # t1 is better on validation (mean 5.5 against 7.5), t2 on test (1.5 against 9.25)
    cands = [confirm.Candidate(1, "t1", "r1", 5.0, {}), confirm.Candidate(2, "t2", "r2", 6.0, {})]
    runs = {"x1": _run("t1", 5.0, 9.0), "x2": _run("t1", 6.0, 9.5), "y1": _run("t2", 7.0, 1.0),
            "y2": _run("t2", 8.0, 2.0)}
    rows = confirm.summarise(cands, runs, "min")
    assert [r.trial_id for r in rows] == ["t1", "t2"] and not confirm.order_changed(rows)
    assert [r.trial_id for r in confirm.summarise(cands, runs, "max")] == ["t2", "t1"]


class _Writer:
    """What ``confirm.record`` hands the writer."""

    def confirmation(self, parent_id, values, order_changed, n_seeds, best_trial_id, doc):
        self.values, self.doc = values, doc


def _confirmed(finals):
    cands = [confirm.Candidate(1, "t1", "r1", 5.0, {}), confirm.Candidate(2, "t2", "r2", 6.0, {})]
    runs = {"x1": _run("t1", 7.0, 7.5, run="a"), "x2": _run("t1", 9.0, 9.5, run="b"),
            "y1": _run("t2", 6.0, 6.1, run="c"),
            "y2": _run("t2", 6.5, 6.6, "failed", run="d")}  # a failed seed's estimate does not count
    rows = confirm.summarise(cands, runs, "min", finals)
    writer = _Writer()
    confirm.record(writer, "p", rows, "val_nelbo", "test_nelbo", 2)
    return rows, writer, "\n".join(confirm.summary_lines(rows, "val_nelbo", "test_nelbo", 2))


def test_the_final_metrics_of_each_seed_are_summarised_beside_the_study_metric():
    finals = {"a": {M.TEST_NLL_IW: 90.0, M.TEST_NLL_IW_SE: 0.5, M.VAL_NLL_IW: 91.0, M.VAL_NLL_IW_SE: 0.4},
              "b": {M.TEST_NLL_IW: 92.0, M.TEST_NLL_IW_SE: 0.7, M.VAL_NLL_IW: 93.0, M.VAL_NLL_IW_SE: 0.6},
              "c": {M.TEST_NLL_IW: 88.0, M.TEST_NLL_IW_SE: 0.3}, "d": {M.TEST_NLL_IW: 1.0}}
    rows, writer, text = _confirmed(finals)
    t2, t1 = rows
    assert t1.finals[M.TEST_NLL_IW] == [90.0, 92.0] and t2.finals == {M.TEST_NLL_IW: [88.0], M.TEST_NLL_IW_SE: [0.3]}
    assert t1.final_stats()[M.TEST_NLL_IW] == pytest.approx((91.0, math.sqrt(2)))
    assert writer.values["confirm_1_test_nll_iw_mean"] == pytest.approx(91.0)
    assert writer.values["confirm_1_test_nll_iw_sd"] == pytest.approx(math.sqrt(2))
    assert writer.values["confirm_1_test_nll_iw_se_mean"] == pytest.approx(0.6)
    assert writer.values["confirm_2_test_nll_iw_mean"] == 88.0 and "confirm_2_test_nll_iw_sd" not in writer.values
    assert writer.doc["rows"][1]["finals_mean"][M.VAL_NLL_IW] == pytest.approx(92.0)
    assert "final metrics measured on each seed's kept checkpoint" in text
    assert f"{M.TEST_NLL_IW} 91.000 ± 1.414 over 2 seeds (its standard error within a run 0.600 on average)" in text
    assert f"{M.VAL_NLL_IW} 92.000 ± 1.414 over 2 seeds" in text and f"{M.TEST_NLL_IW} 88.000 over 1 seeds" in text
    assert f"{M.TEST_NLL_IW_SE} " not in text  # a standard error is shown with its estimate, not as one


@pytest.mark.parametrize("finals", [None, {}, {"a": {}, "b": {}, "c": {}}])  # no family measure, or none measured
def test_a_confirmation_without_final_metrics_shows_nothing_new(finals):
    rows, writer, text = _confirmed(finals)
    assert all(r.finals == {} and r.final_stats() == {} for r in rows)
    assert sorted(writer.values) == sorted(["confirm_1_val_nelbo_mean", "confirm_1_val_nelbo_sd",
                                            "confirm_1_test_nelbo_mean", "confirm_1_test_nelbo_sd",
                                            "confirm_2_val_nelbo_mean", "confirm_2_test_nelbo_mean"])
    assert "final metrics" not in text and "nll" not in text and "standard error" not in text


def test_fixed_points_search_hands_out_each_point_once_and_resumes(tmp_path):
    s = FixedPointsSearch([{"a": 1}, {"a": 2}, {"a": 3}], "m", "min", max_concurrent=2)
    assert s.suggest("t1") == {"a": 1} and s.suggest("t2") == {"a": 2}
    assert s.suggest("t3") is None  # two running: wait
    s.on_trial_complete("t1")
    path = tmp_path / "state.pkl"
    s.save(str(path))
    assert json.loads(path.read_text())["next"] == 2
    t = FixedPointsSearch([], "m", "min", max_concurrent=2)
    t.restore(str(path))
    assert t.suggest("t3") == {"a": 3} and t.suggest("t4") == FixedPointsSearch.FINISHED


@pytest.mark.parametrize("snapshot", [True, False])
def test_a_point_restarted_under_a_new_trial_id_continues_the_killed_attempts_run(tmp_path, snapshot):
    """Killed before Tune's snapshot held the confirmation's trials (``snapshot``), or before it made any (a fresh
    confirmation experiment on --resume): the point is handed out again as a new trial (a new id), trained from the
    start with the same seed. It records into the killed attempt's run of that point (none created twice, no report
    logged twice), which it then holds."""
    import pickle
    from types import SimpleNamespace

    from mlflow.tracking import MlflowClient

    from record import schema as S
    from study import result_keys as keys
    from study.mlflow_callback import MLflowTrialLogger

    uri = new_sqlite(tmp_path)
    c = MlflowClient(uri)
    exp = c.create_experiment("vae_beta_sweep", artifact_location=(tmp_path / "a").as_uri())
    parent = c.create_run(exp).info.run_id
    cands = [confirm.Candidate(1, "s1", "r1", 100.0, {"beta": 1.0, "seed": 0})]
    seeds = confirm.fresh_seeds(0, 2)
    logger = MLflowTrialLogger(uri, exp, parent, "vae_beta_sweep", "val_nelbo", "min", 4, str(tmp_path / "staging"),
                               config_tags=confirm.point_tags(cands, seeds))
    saved = pickle.dumps(logger)  # Tune's first snapshot: no trial yet
    points = confirm.points(cands, seeds)
    first = SimpleNamespace(trial_id="old_00000", config=points[0])
    logger.on_trial_start(0, [], first)
    logger.on_trial_result(0, [], first, {keys.ITERATION: 1, "val_nelbo": 120.0})
    logger.writer.flush()  # then the driver is killed

    resumed = pickle.loads(saved) if snapshot else MLflowTrialLogger(
        uri, exp, parent, "vae_beta_sweep", "val_nelbo", "min", 4, str(tmp_path / "staging"),
        config_tags=confirm.point_tags(cands, seeds))
    again, other = SimpleNamespace(trial_id="new_00000", config=points[0]), SimpleNamespace(trial_id="new_00001",
                                                                                            config=points[1])
    for t in (again, other):
        resumed.on_trial_start(0, [], t)
    for step, value in ((1, 120.0), (2, 110.0)):
        resumed.on_trial_result(0, [], again, {keys.ITERATION: step, "val_nelbo": value})
    resumed.writer.flush()
    runs = c.search_runs([exp], filter_string=S.tag_filter(S.PARENT_RUN_ID, parent))
    assert len(runs) == 2  # the killed attempt's run of point 0, and point 1's first
    assert resumed.runs["new_00000"] == logger.runs["old_00000"] != resumed.runs["new_00001"]
    run = c.get_run(resumed.runs["new_00000"])
    assert run.data.tags[S.TRIAL_ID] == "new_00000" and run.info.status == "RUNNING"
    assert [(m.step, m.value) for m in c.get_metric_history(run.info.run_id, "val_nelbo")] == [(1, 120.0), (2, 110.0)]
