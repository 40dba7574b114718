"""The DDPM smoke study end to end on a generated 48 px image folder: real Ray, real MLflow (SQLite),
then ``python -m analysis.export`` with the samples, interpolations, cherry-picked grid, nearest
neighbours and memorisation check."""

import json

import pytest
from mlflow.tracking import MlflowClient

from analysis.figures.common import image_steps
from tests.conftest import new_sqlite, run_cli
from tests.test_analysis_export import assert_png
from trainables.data.image_folder import held_out_sizes
from trainables.data.shapes_folder import write_shapes_folder

pytestmark = pytest.mark.e2e
STUDY = "ddpm_image_sweep"
N_IMAGES = 120  # few images: genstudy's classifier trains on min(128, N) images a step, the test's main cost
N_POOL = 64  # samples for the cherry-picked grid and the memorisation check: the least the grid takes (CLI: 1,000)
FIGURES = ["ddpm_metric"] + [f"ddpm_best_{k}" for k in (
    "losses", "samples_over_training", "samples", "interpolations", "cherry_picked", "nearest_pixels",
    "nearest_features", "memorisation")]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, short_tmp):
    tmp = tmp_path_factory.mktemp("ddpm_smoke")
    folder = write_shapes_folder(tmp / "shapes", n=N_IMAGES)  # coloured shapes, 40-100 px, half JPEG, 4 class folders
    (tmp / "root").mkdir()
    _cache_a_short_trained_classifier(folder, tmp / "root")
    uri = new_sqlite(tmp)
    common = ("--tracking-uri", uri, "--data-root", str(tmp / "root"))
    run = run_cli("study.run", STUDY, "--profile", "smoke", "--set", f"data_dir={folder}", "--storage-path",
                  str(tmp / "ray"), *common, env={"RAY_TMPDIR": str(short_tmp())})
    export = run_cli("analysis.export", STUDY, "--out", str(tmp / "export"), "--diffusion-samples", str(N_POOL), *common)
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(STUDY).experiment_id])
    parent = next(r for r in runs if r.data.tags.get("role") == "study")
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    log = f"{run.stdout[-2000:]}{run.stderr[-3000:]}\nexport:\n{export.stderr[-3000:]}"
    return run, export, client, parent, children, tmp, log


def _cache_a_short_trained_classifier(folder, root):
    """The study's FID classifier trained 50 steps instead of 400 and cached where the study looks for it: the
    study then loads it (a real study's cache path). The classifier was 60 % of the study's CPU time (measured 72
    of 118 CPU-s at 400 steps); 100 steps took 29 CPU-s, 50 take 16, and still give the held-out shapes a mean
    top probability of 0.95 (0.99 at 100; the export's recognition check needs over 0.5)."""
    import trainables.classifier as clf
    from study.resolve import resolve

    r = resolve(STUDY, "smoke", [f"data_dir={folder}"])
    data = r.family.load_data(r.fixed, root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clf, "MIN_STEPS", 50)
        clf.load_or_train(data.classifier_data(), root)


def test_smoke_study_exits_0_and_every_trial_finishes(smoke):
    run, _, _, parent, children, tmp, log = smoke
    assert run.returncode == 0, log
    assert len(list((tmp / "root" / "classifiers").glob("*.safetensors"))) == 1  # the cached one, not a second
    assert "best trial" in run.stdout and "val_fid" in run.stdout and "test_fid" in run.stdout
    assert len(children) == 2 and all(c.data.tags.get("status") == "finished" for c in children), log
    assert parent.info.status == "FINISHED" and "best_run_id" in parent.data.tags


def test_every_trial_logs_its_metrics_each_report_and_its_samples(smoke):
    _, _, client, _, children, _, _ = smoke
    for c in children:
        assert c.data.params["image_size"] == "48" and c.data.params["dataset"] == "image_folder"
        for key in ("val_fid", "val_kid", "test_fid", "test_kid", "train_loss", "val_loss", "test_loss",
                    "samples_per_s", "ddim_samples_per_s", "sample_confidence", "classifier_accuracy", "n_params"):
            assert sorted(m.step for m in client.get_metric_history(c.info.run_id, key)) == [1, 2], key
        assert not [k for k in c.data.metrics if "fid_inception" in k]  # no Inception weights offline: absent, not faked
        images = [a.path for a in client.list_artifacts(c.info.run_id, "images")]
        assert set(image_steps(images, "samples")) == {1, 2}
    best = smoke[3].data.tags["best_run_id"]
    assert {"model.safetensors", "config.json"} <= {a.path for a in client.list_artifacts(best)}


def test_export_has_samples_interpolations_cherry_picked_and_neighbours(smoke):
    _, export, _, _, _, tmp, log = smoke
    assert export.returncode == 0, log
    out = tmp / "export"
    for name in FIGURES:
        assert_png(out / "figures" / f"{name}.png")
    page = (out / "report.html").read_text()
    assert "CHERRY-PICKED" in page and "64 samples" in page and "interpolations between 8 pairs" in page
    numbers = json.loads((out / "memorisation.json").read_text())
    assert numbers["feature_space"].startswith("the 128-d feature space of genstudy's folder-shapes classifier")
    for space in ("pixels", "features"):
        r = numbers[space]
        assert r["n_samples"] == N_POOL and r["n_test"] == held_out_sizes(N_IMAGES)[1] and 0 <= r["fraction_closer_than_any_test"] <= 1
    assert "samples closer than any test image" in page
    recognition = json.loads((out / "recognition.json").read_text())
    n_test = min(N_POOL, held_out_sizes(N_IMAGES)[1])
    for key, n in (("samples", N_POOL), ("test_images", n_test)):
        r = recognition[key]
        assert r["n"] == n and sum(r["predicted_counts"]) == n, r
        assert r["classes_predicted"] == sum(c > 0 for c in r["predicted_counts"]) >= 1
        assert 1 / len(r["predicted_counts"]) <= r["mean_max_probability"] <= 1  # a max of a softmax
    assert recognition["test_images"]["mean_max_probability"] > 0.5  # held-out shapes: the classifier knows them
    assert "does the classifier recognise the samples?" in page
    # two trials are too few for fANOVA: the figure is omitted with the reason, not drawn from noise
    assert not (out / "figures" / "study_importance.png").exists()
    assert "Hyperparameter importance (fANOVA): not drawn.</b> fewer than 3 trials" in page


def test_bad_folder_exits_2_with_one_line(smoke, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    p = run_cli("study.run", STUDY, "--profile", "smoke", "--set", f"data_dir={empty}", "--data-root", str(tmp_path),
                "--tracking-uri", f"sqlite:///{tmp_path}/m.db", "--storage-path", str(tmp_path / "ray"))
    assert p.returncode == 2
    err = [line for line in p.stderr.splitlines() if line.startswith("study.run: error")]
    assert len(err) == 1 and "holds no images" in err[0] and "fix:" in err[0], p.stderr[-2000:]
