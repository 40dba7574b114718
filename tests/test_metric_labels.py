"""Every table header and figure axis that shows a sample-quality distance names its feature space
(trainables.metric_labels): val_fid is a Fréchet distance in genstudy's classifier features, not Inception's FID."""

from types import SimpleNamespace

import matplotlib
import pytest

matplotlib.use("Agg")

from analysis import leaderboard, report  # noqa: E402
from analysis.figures import gan as gan_figures  # noqa: E402
from analysis.record import StudyRecord, Trial  # noqa: E402
from trainables import metric_names as M  # noqa: E402
from trainables.metric_labels import column_label, distance_label, metric_label  # noqa: E402

MNIST_FD = "FD (MNIST-classifier features, 128-d)"


def test_labels_name_the_feature_space():
    mnist = {"dataset": "mnist"}
    assert distance_label(M.VAL_FID, mnist) == MNIST_FD and distance_label(M.LEGACY_FID, mnist) == MNIST_FD
    assert distance_label(M.TEST_KID, {"dataset": "cifar10"}) == "KID (CIFAR-10-classifier features, 128-d)"
    ddpm_inception = {"dataset": "stl10", "fid_features": "inception"}
    assert distance_label(M.VAL_FID, ddpm_inception) == "FID (Inception-v3 pool features, 2048-d)"
    assert distance_label(M.VAL_FID_INCEPTION, mnist) == "FID (Inception-v3 pool features, 2048-d)"
    assert distance_label(M.VAL_NELBO, mnist) is None and metric_label(M.VAL_NELBO, mnist) == M.VAL_NELBO
    assert metric_label(M.VAL_FID, mnist) == f"val_fid: {MNIST_FD}"


@pytest.mark.parametrize("column, labelled", [
    ("val_fid_best", True), ("test_fid_at_best", True), ("val_fid@2", True), ("val_fid_confirm_mean", True),
    ("search_val_fid", True), ("best_val_kid", True), ("fid_best", True),
    ("val_fid_best_report", False), ("fid_features", False), ("val_nelbo_best", False), ("rank@2", False)])
def test_table_headers_label_the_columns_that_hold_a_distance(column, labelled):
    header = column_label(column, {"dataset": "mnist"})
    assert header.startswith(column) and (header != column) == labelled


def _gan_record() -> StudyRecord:
    def trial(i, values):
        return Trial(run_id=f"run{i}", trial_id=f"t{i}", status="finished", epochs=len(values),
                     config={"dataset": "mnist", "loss": "bce", "width": 16 + i},
                     history={M.VAL_FID: list(enumerate(values, start=1)),
                              M.TEST_FID: [(s, v + 1) for s, v in enumerate(values, start=1)]}, n_params=1000)

    params = {"metric": M.VAL_FID, "mode": "min", "fixed.dataset": "mnist"}
    return StudyRecord("gan_loss_sweep", "gan", "sqlite:///x.db", "1", "p", "p", "FINISHED", M.VAL_FID, "min", params,
                       {"best_run_id": "run0"}, {}, [trial(0, [90.0, 60.0]), trial(1, [95.0, 80.0])], max_reports=2,
                       test_metric=M.TEST_FID)


def test_the_report_leaderboard_and_the_fid_figure_name_the_feature_space(tmp_path):
    record = _gan_record()
    df = leaderboard.build(record)
    assert "val_fid_best" in df.columns  # the CSV keeps the metric names
    page = report.leaderboard_table(df, record).html
    assert f"val_fid_best: {MNIST_FD}" in page and f"test_fid_at_best: {MNIST_FD}" in page
    drawn = {}
    ctx = SimpleNamespace(record=record, save=lambda fig, name: drawn.setdefault(name, fig) and str(tmp_path / name))
    figure = gan_figures._fid(ctx, record.trials[0])
    assert figure.title == f"{MNIST_FD} over training" and drawn["gan_fid"].axes[0].get_ylabel() == MNIST_FD
