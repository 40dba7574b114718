"""``python -m analysis.export`` on a smoke GAN study (two of the four loss baselines): GAN figures and tables."""

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.analysis_study import smoke_export
from tests.test_analysis_export import assert_png

pytestmark = pytest.mark.e2e
STUDY = "gan_loss_sweep"
GAN_FIGURES = ["study_metric_vs_params", "study_parallel_coordinates", "study_asha_curves",
               "study_epochs_per_trial", "gan_fid"] + [
    f"gan_best_{k}" for k in ("losses", "fixed_noise", "samples", "interpolations", "nearest_neighbours",
                              "cherry_picked")]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, mnist_root):
    s = smoke_export(tmp_path_factory.getbasetemp(), STUDY, mnist_root, ("--num-samples", "2"))
    assert s.study_code == 0 and s.export_code == 0, s.log
    return s


def test_gan_export_writes_every_figure(smoke):
    for name in ("best_config.yaml", "leaderboard.csv", "report.html"):
        assert (smoke.out / name).stat().st_size > 0, name
    for name in GAN_FIGURES:
        assert_png(smoke.out / "figures" / f"{name}.png")
    assert not (smoke.out / "svm_report.json").exists()
    page = (smoke.out / "report.html").read_text()
    assert "CHERRY-PICKED" in page and "equilibrium" in page
    # two trials are too few for fANOVA: the figure is omitted with the reason, not drawn from noise
    assert not (smoke.out / "figures" / "study_importance.png").exists()
    assert "Hyperparameter importance (fANOVA): not drawn.</b> fewer than 3 trials" in page


def test_gan_leaderboard_has_each_trial_and_its_loss(smoke):
    client = MlflowClient(smoke.uri)
    runs = [r for r in client.search_runs([client.get_experiment_by_name(STUDY).experiment_id])
            if "mlflow.parentRunId" in r.data.tags]
    df = pd.read_csv(smoke.out / "leaderboard.csv")
    assert sorted(df["run_id"]) == sorted(r.info.run_id for r in runs)
    assert set(df["loss"]) == {r.data.params["loss"] for r in runs} and "val_fid_best" in df.columns  # ranked on the validation FID
