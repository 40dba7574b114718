"""``python -m analysis.export`` on a smoke VAE study: every file, the leaderboard against MLflow,
the SVM report, best_config.yaml, the report page's references, and the rerun of the best config."""

import json
import re
import shutil
import struct

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from analysis.record import typed_config
from record import config_file
from tests.analysis_study import SVM_TRAIN_SIZE, smoke_export
from tests.conftest import run_cli
from trainables.vae_config import VAEConfig

pytestmark = pytest.mark.e2e
STUDY = "vae_beta_sweep"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VAE_FIGURES = ["study_importance", "study_metric_vs_params", "study_parallel_coordinates", "study_asha_curves",
               "study_epochs_per_trial", "study_rate_distortion"] + [
    f"vae_best_{k}" for k in ("curves", "recon_progress", "samples", "reconstructions", "interpolations",
                              "traversals", "tsne", "svm_confusion")]


@pytest.fixture(scope="module")
def smoke(shared_base, mnist_root):
    s = smoke_export(shared_base, STUDY, mnist_root)
    assert s.study_code == 0 and s.export_code == 0, s.log
    return s


@pytest.fixture(scope="module")
def children(smoke):
    client = MlflowClient(smoke.uri)
    exp = client.get_experiment_by_name(STUDY)
    runs = client.search_runs([exp.experiment_id])
    return client, [r for r in runs if "mlflow.parentRunId" in r.data.tags]


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert len(data) > 2000 and width >= 100 and height >= 50, (path.name, len(data), width, height)


def test_export_writes_every_file_as_valid_png(smoke):
    for name in ("best_config.yaml", "leaderboard.csv", "report.html", "svm_report.json"):
        assert (smoke.out / name).stat().st_size > 0, name
    for name in VAE_FIGURES:
        assert_png(smoke.out / "figures" / f"{name}.png")
    pngs = sorted((smoke.out / "figures").glob("*.png"))
    for path in pngs:
        assert_png(path)
    roles = {m.group(1) for p in pngs if (m := re.match(r"vae_(best|beta_min|beta_max)_", p.name))}
    assert roles == expected_roles(smoke)  # the beta extremes come only from trials that trained to the end
    assert smoke.export_seconds < 120, f"export took {smoke.export_seconds:.0f}s"


def expected_roles(smoke) -> set[str]:
    """best, and beta_min / beta_max when the lowest / highest beta among the finished trials is another trial."""
    client = MlflowClient(smoke.uri)
    runs = [r for r in client.search_runs([client.get_experiment_by_name(STUDY).experiment_id])
            if "mlflow.parentRunId" in r.data.tags]
    best = client.get_run(runs[0].data.tags["mlflow.parentRunId"]).data.tags["best_run_id"]
    finished = [r for r in runs if r.data.tags["status"] == "finished"]
    roles = {"best"}
    for role, pick in (("beta_min", min), ("beta_max", max)):
        if finished and pick(finished, key=lambda r: float(r.data.params["beta"])).info.run_id != best:
            roles.add(role)
    return roles


def test_export_prints_progress_for_long_steps(smoke):
    for step in ("t-SNE of 300 test latent means", f"SVM on {SVM_TRAIN_SIZE:,} training latent means", "fANOVA importance"):
        assert step in smoke.log


def test_leaderboard_rows_match_child_runs(smoke, children):
    client, runs = children
    df = pd.read_csv(smoke.out / "leaderboard.csv")
    assert sorted(df["run_id"]) == sorted(r.info.run_id for r in runs)
    for run in runs:
        row = df[df["run_id"] == run.info.run_id].iloc[0]
        tags = run.data.tags
        assert row["status"] == tags["status"] and row["epochs_run"] == int(tags["epochs_run"])
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_nelbo"))
        test = dict((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "test_nelbo"))
        assert row["val_nelbo_final"] == pytest.approx(history[-1][1])
        best_step, best = min(history, key=lambda p: p[1])
        assert row["val_nelbo_best"] == pytest.approx(best) and row["val_nelbo_best_report"] == best_step
        assert row["test_nelbo_at_best"] == pytest.approx(test[best_step])  # test beside val, at the kept checkpoint
        assert row["test_nelbo_final"] == pytest.approx(test[max(test)]) and row["selected_on"] == "val"
        assert row["val_nelbo@1"] == pytest.approx(history[0][1])  # every trial reached the first rung
        assert row["n_params"] == int(run.data.metrics["n_params"])
        for key, value in typed_config(run.data.params, "vae").items():
            cell = row[key]
            assert (value is None and pd.isna(cell)) or str(cell) == str(value) or cell == pytest.approx(value), key
        if tags["status"] == "stopped_early":
            assert row["status_detail"].startswith("stopped early by ASHA at rung")
    assert list(df["rank"].dropna()) == sorted(df["rank"].dropna())


def test_svm_report_fields(smoke, children):
    report = json.loads((smoke.out / "svm_report.json").read_text())
    assert set(report) == expected_roles(smoke)
    best = report["best"]
    _, runs = children
    parent_best = MlflowClient(smoke.uri).get_run(runs[0].data.tags["mlflow.parentRunId"]).data.tags["best_run_id"]
    assert best["run_id"] == parent_best
    assert 0.3 < best["accuracy"] <= 1.0  # 10 classes: chance is 0.1; a 4-epoch smoke VAE reaches 0.5-0.7
    assert best["n_train"] == SVM_TRAIN_SIZE and best["n_test"] == 10_000
    assert set(best["per_class"]) == {str(k) for k in range(10)}
    for scores in best["per_class"].values():
        assert {"precision", "recall", "f1", "support"} <= set(scores) and 0 <= scores["f1"] <= 1
    confusion = best["confusion_matrix"]
    assert sum(map(sum, confusion)) == 10_000
    assert sum(confusion[i][i] for i in range(10)) / 10_000 == pytest.approx(best["accuracy"])


def test_best_config_is_the_parent_runs_best_and_builds(smoke, children):
    client, runs = children
    parent = client.get_run(runs[0].data.tags["mlflow.parentRunId"])
    study, family, config = config_file.read(smoke.out / "best_config.yaml")
    assert (study, family) == (STUDY, "vae")
    assert config == typed_config(client.get_run(parent.data.tags["best_run_id"]).data.params, "vae")
    assert VAEConfig(**config).seed == 0
    doc = yaml.safe_load((smoke.out / "best_config.yaml").read_text())
    assert doc["best"]["metric"]["best"] == pytest.approx(parent.data.metrics["best_val_nelbo"])
    assert doc["best"]["metric"]["test"] == pytest.approx(parent.data.metrics["best_test_nelbo"])
    assert doc["best"]["metric"]["selected_on"] == "val" and doc["best"]["metric"]["test_name"] == "test_nelbo"
    assert doc["source"]["parent_run_id"] == parent.info.run_id and doc["top_k"][0] == doc["best"]


def test_report_references_every_figure_and_table(smoke):
    page = (smoke.out / "report.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(srcs) == sorted(f"figures/{p.name}" for p in (smoke.out / "figures").glob("*.png"))
    assert "http://" not in page and "https://" not in page and "<script" not in page  # offline, no scripts
    assert page.count("<figcaption>") == len(srcs)
    assert "Leaderboard" in page and "SVM per-class precision, recall and F1" in page and "Test accuracy" in page
    assert "chosen on val_nelbo" in page and "test_nelbo (test split, reported)" in page
    assert "<th>val_nelbo_best</th>" in page and "<th>test_nelbo_at_best</th>" in page  # both in the leaderboard
    assert "Selected on the test set" not in page


def test_from_config_trains_the_best_config_again(smoke, mnist_root, tmp_path):
    """Acceptance 2: ``study.run --from-config DIR/best_config.yaml`` trains the exported best config again.

    It runs against a copy of the study's database, so the other tests keep reading the smoke study
    as the newest invocation.
    """
    db = tmp_path / "rerun.db"
    shutil.copy(smoke.uri[len("sqlite:///"):], db)
    uri = f"sqlite:///{db}"
    p = run_cli("study.run", "--from-config", str(smoke.out / "best_config.yaml"), "--profile", "smoke",
                "--tracking-uri", uri, "--data-root", str(mnist_root), "--storage-path", str(tmp_path / "ray"), "--no-publish")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    _, _, config = config_file.read(smoke.out / "best_config.yaml")
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(STUDY).experiment_id
    (parent,) = client.search_runs([exp], filter_string="tags.from_config != ''")
    assert parent.data.tags["from_config"] == str((smoke.out / "best_config.yaml").resolve())
    (rerun,) = client.search_runs([exp], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert typed_config(rerun.data.params, "vae") == config  # the same config, seed included
    assert rerun.data.tags["status"] == "finished" and int(rerun.data.tags["epochs_run"]) == config["max_epochs"]
