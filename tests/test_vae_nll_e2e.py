"""Issue 23, acceptance 1: ``study.run vae_beta_sweep --set binarize=dynamic`` measures the best trial's
importance-weighted NLL when it ends, records it in MLflow (test_nll_iw, its standard error, k as a param) and
the export shows it beside the IWAE paper's Table 1 VAE row. Real Ray, MLflow on SQLite, real MNIST: the session's
binarised smoke study (tests/confirm_study.py: three search trials, k = 50 on 50 images a split, then a confirmation
of the top 2) and its export, shared with the confirmation and progress tests."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from search_spaces.vae import SMOKE_NLL_IW
from tests.confirm_study import STUDY, confirmed_export, confirmed_study
from trainables import metric_names as M
from trainables.iwae import IWAE_TABLE1
from trainables.metric_names import best_of
from trainables.vae_nll import PAPER_ROW

pytestmark = pytest.mark.e2e
SMOKE_K_PARAM = str(SMOKE_NLL_IW["nll_iw_k"])  # the smoke profile's k, as MLflow holds it


@pytest.fixture(scope="module")
def binarised(shared_base, mnist_root):
    return confirmed_study(shared_base, mnist_root), confirmed_export(shared_base, mnist_root)


def test_the_best_run_holds_the_estimate_its_standard_error_and_k(binarised):
    run, _ = binarised
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    client = MlflowClient(run.uri)
    exp = client.get_experiment_by_name(STUDY)
    parent = next(r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("role") == "study")
    best = client.get_run(parent.data.tags["best_run_id"])
    for name in M.NLL_IW_METRICS:
        assert name in best.data.metrics, name
        assert parent.data.metrics[best_of(name)] == pytest.approx(best.data.metrics[name])
    assert best.data.metrics[M.TEST_NLL_IW_SE] > 0
    assert best.data.params["nll_iw_k"] == SMOKE_K_PARAM and best.data.params["binarize"] == "dynamic"
    assert f"{M.TEST_NLL_IW} = " in run.stdout and "the paper's VAE" in run.stdout
    assert "grey-level" not in run.stdout  # binarised: the nelbo is a bound on a likelihood, no grey label


def test_the_export_shows_it_beside_the_papers_row(binarised):
    _, exp = binarised
    assert exp.code == 0, exp.stderr
    out = exp.out
    board = pd.read_csv(out / "leaderboard.csv")
    top = board.iloc[0]
    assert top[M.TEST_NLL_IW] > 0 and top[M.TEST_NLL_IW_SE] > 0 and str(top["nll_iw_k"]) == SMOKE_K_PARAM
    page = (out / "report.html").read_text()
    assert f"{M.TEST_NLL_IW} = {top[M.TEST_NLL_IW]:.2f} ± {top[M.TEST_NLL_IW_SE]:.2f} nats (k={SMOKE_K_PARAM}" in page
    assert "the paper&#x27;s VAE" in page and f"{IWAE_TABLE1[PAPER_ROW]} nats" in page
    assert f"<th>{M.TEST_NLL_IW}</th>" in page  # a leaderboard column on the page, not only in the CSV
