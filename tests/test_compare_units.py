"""Comparison tables and GAN health rules on hand-made records (no Ray, no MLflow)."""

import math

import pytest

from analysis import compare
from analysis.figures.gan_health import collapse_verdict, d_optimum
from analysis.record import StudyRecord, Trial
from search_spaces import STUDIES, Reference


def _trial(i, beta, schedule, values, status="finished"):
    history = {"val_nelbo": [(e, v) for e, v in enumerate(values, start=1)],
               "test_recon": [(e, v - 20) for e, v in enumerate(values, start=1)],
               "train_kl": [(e, 10.0 + e) for e in range(1, len(values) + 1)]}
    config = {"beta": beta, "beta_schedule": schedule, "latent_dim": 20, "dataset": "mnist"}
    return Trial(run_id=f"r{i}", trial_id=f"t{i}", status=status, epochs=len(values), config=config, history=history)


@pytest.fixture
def record():
    trials = [_trial(0, 1.2, "constant", [170, 160, 150]), _trial(1, 0.8, "linear", [160, 150, 140]),
              _trial(2, 0.8, "constant", [165, 155, 145]), _trial(3, 1.0, "constant", [168, 158]),
              _trial(4, 1.0, "linear", [float("nan")], status="failed")]
    return StudyRecord("vae_beta_grid", "vae", "sqlite:///x.db", "1", "p", "p", "FINISHED", "val_nelbo", "min",
                       {"metric": "val_nelbo"}, {}, {}, trials, max_reports=3, test_metric="test_nelbo")


def test_compared_trials_are_the_trained_ones_ordered_and_labelled_by_every_varying_key(record):
    got = compare.compared(record, "beta")
    assert [c.trial.trial_id for c in got] == ["t2", "t1", "t3", "t0"]  # the failed trial is left out
    assert got[0].label == "beta=0.8, beta_schedule=constant" and got[1].label == "beta=0.8, beta_schedule=linear"
    with pytest.raises(compare.CompareError, match="fix: one of beta, beta_schedule"):
        compare.compared(record, "width")


def test_equal_epoch_is_the_last_all_reached_unless_asked(record):
    trials = compare.compared(record, "beta")
    assert compare.equal_epoch(record, trials, None) == 2  # t3 reached epoch 2 only
    assert compare.equal_epoch(record, trials, 3) == 3
    with pytest.raises(compare.CompareError, match="in 1..3"):
        compare.equal_epoch(record, trials, 4)


def test_table_rows_hold_every_metric_at_the_epoch_and_the_reference_verdicts(record):
    refs = (Reference({"beta": 0.8}, "test_recon", 130.0, "seed 003"), Reference({"beta": 1.2}, "test_recon", 135.0, "s"))
    rows = compare.table_rows(record, compare.compared(record, "beta"), 3, refs)
    by = {r["trial_id"]: r for r in rows}
    assert list(rows[0])[5:8] == ["test_recon", "train_kl", "val_nelbo"]  # recon, kl, nelbo: grouped by name
    assert by["t2"]["test_recon"] == 125 and by["t2"]["val_nelbo"] == 145 and by["t2"]["train_kl"] == 13.0
    assert by["t2"]["ours_vs_reference"] == "test_recon 125: meets"  # 125 < 130
    assert by["t0"]["ours_vs_reference"] == "test_recon 130: meets" and "at beta=1.2" in by["t0"]["reference"]
    assert by["t3"]["at_epoch"] is None and by["t3"]["val_nelbo"] is None  # stopped at 2: no value at 3, none invented
    assert by["t3"]["reference"] is None
    refs = (Reference({"beta": 0.8}, "test_recon", 120.0, "tight"),)
    assert compare.table_rows(record, compare.compared(record, "beta"), 3, refs)[0]["ours_vs_reference"] == \
        "test_recon 125: misses"


def test_beta_grid_names_seed_003s_thresholds():
    refs = STUDIES["vae_beta_grid"].references
    assert [(r.where["beta"], r.metric, r.bound) for r in refs] == [(0.8, "test_recon", 130.0), (1.2, "test_recon", 155.0)]
    assert refs[0].matches({"beta": 0.8000000001}) and not refs[0].matches({"beta": 1.0})


def _gan_trial(covered, entropy):
    history = {"classes_covered": list(enumerate(covered, start=1)), "class_entropy": list(enumerate(entropy, start=1))}
    return Trial(run_id="g", trial_id="g", status="finished", epochs=len(covered), config={}, history=history)


def test_collapse_rule():
    h = math.log(10)
    ok = collapse_verdict(_gan_trial([7, 10, 10], [1.5, 2.2, 0.95 * h]), 10)
    assert ok.detected is False and "not detected" in ok.text and "fewest classes covered was 7 (report 1)" in ok.text
    assert collapse_verdict(_gan_trial([10, 9], [2.2, 2.2]), 10).detected  # a class lost at the last report
    assert collapse_verdict(_gan_trial([10, 10], [2.2, 0.85 * h]), 10).detected  # every class, but skewed
    missing = collapse_verdict(Trial("g", "g", "finished", 1, {}), 10)
    assert missing.detected is None and "cannot be judged" in missing.text


def test_d_optimum_is_half_the_real_target_for_bce_and_lsgan():
    assert d_optimum("bce") == 0.5 and d_optimum("bce", 0.1) == pytest.approx(0.45)
    assert d_optimum("lsgan", 0.2) == pytest.approx(0.4)
    assert d_optimum("hinge") is None and d_optimum("wgan_gp") is None
