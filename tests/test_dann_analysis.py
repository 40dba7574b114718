"""The DANN report's table of what each selection criterion chooses (analysis/figures/dann_common.py),
on a constructed record: the label-free choice's target test accuracy beside the oracle's."""

import pytest

from analysis.figures.dann import KINDS
from analysis.figures.dann_common import chosen_by, criteria_rows
from record.study_record import Trial
from trainables import metric_names as M


def _trial(i, status, lambda_max, dev, val, test):
    history = {M.VAL_DEV_RISK: list(enumerate(dev, 1)), M.TARGET_VAL_ACC: list(enumerate(val, 1)),
               M.TARGET_TEST_ACC: list(enumerate(test, 1))}
    return Trial(run_id=f"r{i}", trial_id=f"t{i}", status=status, epochs=len(dev), config={"lambda_max": lambda_max},
                 history=history)


TRIALS = [
    _trial(1, "finished", 1.0, dev=[0.30, 0.20], val=[0.60, 0.70], test=[0.55, 0.65]),  # DANN
    _trial(2, "stopped_early", 0.0, dev=[0.25, 0.10], val=[0.50, 0.45], test=[0.48, 0.44]),  # source only
    _trial(3, "failed", 0.5, dev=[0.01], val=[0.99], test=[0.99]),  # failed: never chosen
]


def test_each_criterion_chooses_its_best_report_among_trained_trials():
    trained = [t for t in TRIALS if t.status != "failed"]
    assert [(t.trial_id, k) for t, k in [chosen_by(trained, M.VAL_DEV_RISK, "min")]] == [("t2", 2)]
    assert [(t.trial_id, k) for t, k in [chosen_by(trained, M.TARGET_VAL_ACC, "max")]] == [("t1", 2)]
    assert chosen_by(trained, M.SOURCE_ACC, "max") is None


def test_the_table_puts_the_label_free_choice_beside_the_oracles():
    rows = criteria_rows(TRIALS, [(label, kind) for _, label, kind in KINDS])
    table = [(r["trials"], list(r.values())[1], r["its target test acc"], list(r.values())[3],
              r["its target test acc (oracle)"]) for r in rows]
    assert table == [("all trials (2)", "trial t2, report 2", 0.44, "trial t1, report 2", 0.65),
                     ("Source only (1)", "trial t2, report 2", 0.44, "trial t2, report 1", 0.48),
                     ("DANN (1)", "trial t1, report 2", 0.65, "trial t1, report 2", 0.65)]
    assert [r["oracle advantage (points)"] for r in rows] == pytest.approx([21.0, 4.0, 0.0])
