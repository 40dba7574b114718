"""Both DANN studies end to end on the smoke profile: real Ray, real MLflow (SQLite), real MNIST
(MNIST-M built from it over skimage's photographs), then ``analysis.export``."""

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from analysis.checkpoints import load_model
from tests.conftest import ONE_TORCH_THREAD_ENV, new_sqlite, run_cli
from trainables import metric_names as M
from trainables.dann_eval import evaluate
from trainables.images import uint8_to_float

pytestmark = pytest.mark.e2e
PER_REPORT = (M.SOURCE_ACC, M.TARGET_VAL_ACC, M.TARGET_TEST_ACC, M.DOMAIN_ACC, M.LABEL_LOSS, M.DOMAIN_LOSS)


def _study(tmp, ray_tmp, study, data_root=None, *extra):
    uri = new_sqlite(tmp)
    root = ("--data-root", str(data_root)) if data_root else ()
    p = run_cli("study.run", study, "--profile", "smoke", "--tracking-uri", uri, "--storage-path", str(tmp / "ray"),
                *root, *extra, env={"RAY_TMPDIR": str(ray_tmp), **ONE_TORCH_THREAD_ENV})  # short: Ray's sockets
    e = run_cli("analysis.export", study, "--tracking-uri", uri, "--out", str(tmp / "export"), "--tsne-points", "300",
                *root, env=ONE_TORCH_THREAD_ENV)
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(study).experiment_id])
    parent = next(r for r in runs if r.data.tags.get("role") == "study")
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return p, e, client, parent, children, tmp / "export"


def _per_report(client, children, keys):
    for c in children:
        reports = int(c.data.tags["epochs_run"])
        for key in keys:
            steps = sorted(m.step for m in client.get_metric_history(c.info.run_id, key))
            assert steps == list(range(1, reports + 1)), (c.info.run_name, key, steps)


@pytest.fixture(scope="module")
def moons(tmp_path_factory, short_tmp):
    # the smoke profile's two baselines, the paper's NN and DANN, without its two proposals: every check below reads
    # the baselines (sampled configurations are valid: tests/test_dann_spaces.py; a moons fit reports every metric:
    # tests/test_dann_fit.py)
    return _study(tmp_path_factory.mktemp("dann_moons"), short_tmp(), "dann_moons", None, "--num-samples", "2")


@pytest.fixture(scope="module")
def mnist_m(tmp_path_factory, short_tmp, mnist_root):
    tmp = tmp_path_factory.mktemp("dann_mnist_m")
    (tmp / "data").mkdir()
    (tmp / "data" / "MNIST").symlink_to(mnist_root / "MNIST")
    # the smoke profile's 512 steps (the network starts to learn after about 200), scored on 200 images a split, not 500
    return _study(tmp, short_tmp(), "dann_mnist_m", tmp / "data", "--set", "eval_size=200") + (tmp / "data",)


def test_moons_smoke_trains_nn_and_dann_and_exports_figure_2(moons):
    p, e, client, parent, children, out = moons
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert e.returncode == 0, e.stderr[-3000:]
    assert "best trial" in p.stdout and "target_test_acc" in p.stdout
    assert parent.info.status == "FINISHED" and "best_target_test_acc" in parent.data.metrics
    finished = [c for c in children if c.data.tags.get("status") == "finished"]
    assert len(finished) == 2 and {c.data.params["adversarial"] for c in finished} == {"True", "False"}
    _per_report(client, children, PER_REPORT)
    best = client.get_run(parent.data.tags["best_run_id"])
    assert {"model.safetensors", "config.json"} <= {a.path for a in client.list_artifacts(best.info.run_id)}
    for name in ("dann_moons_data", "dann_moons_nn_figure2", "dann_moons_dann_figure2"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000, name
    page = (out / "report.html").read_text()
    assert "NN against DANN" in page and "Standard NN" in page


def test_moons_paper_dann_beats_the_paper_nn_on_the_target(moons):
    _, _, client, _, children, _ = moons
    paper = {c.data.params["adversarial"]: c for c in children
             if c.data.params["lambda_adapt"] == "6.0" and c.data.params["hidden"] == "15"}
    history = {k: client.get_metric_history(c.info.run_id, M.TARGET_VAL_ACC) for k, c in paper.items()}
    best = {k: max(m.value for m in points) for k, points in history.items()}
    assert best["True"] > best["False"] + 0.05  # 60 epochs: about 0.88 against 0.77 (measured)


def test_mnist_m_smoke_logs_the_baseline_dann_and_the_reference(mnist_m):
    p, e, client, parent, children, out, _ = mnist_m
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert e.returncode == 0, e.stderr[-3000:]
    assert {c.data.params["lambda_max"] for c in children} == {"0.0", "1.0"}  # source only and the paper's DANN
    _per_report(client, children, PER_REPORT + (M.TARGET_ONLY_TEST_ACC, M.LAMBDA_P, M.LR_P))
    for c in children:
        assert c.data.metrics[M.SOURCE_ACC] > 0.5  # 512 steps of 32 MNIST images: it learned
    page = (out / "report.html").read_text()
    assert "Table 2" in page and "Train on target" in page and "0.767" in page and "not BSDS500" in page
    for name in ("dann_mnist_m_tsne", "dann_mnist_m_curves", "dann_mnist_m_examples"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 5_000, name


def test_mnist_m_best_checkpoint_reproduces_its_logged_accuracy(mnist_m):
    _, _, client, parent, _, _, data_root = mnist_m
    from trainables.data.mnist_m_domains import load_mnist_m_domains

    best = parent.data.tags["best_run_id"]
    model, cfg = load_model(best, client.tracking_uri)
    data = load_mnist_m_domains(cfg.to_dict(), data_root)
    held = {k: (torch.from_numpy(data[k].x), torch.from_numpy(data[k].y))
            for k in ("source_val", "source_test", "target_val", "target_test")}
    got = evaluate(model, held, uint8_to_float)
    logged = max(m.value for m in client.get_metric_history(best, M.TARGET_VAL_ACC))
    assert got[M.TARGET_VAL_ACC] == pytest.approx(logged, abs=1e-6)
    assert got[M.TARGET_TEST_ACC] == pytest.approx(parent.data.metrics["best_target_test_acc"], abs=1e-6)
    assert np.isclose(model.pixel_mean.flatten().numpy(), 0, atol=0.05).sum() == 0  # the mean travelled with it


def test_no_mnist_m_files_and_no_photos_exits_2_naming_both_remedies(tmp_path, mnist_root):
    (tmp_path / "MNIST").symlink_to(mnist_root / "MNIST")
    uri = f"sqlite:///{tmp_path}/m.db"
    p = run_cli("study.run", "dann_mnist_m", "--profile", "smoke", "--data-root", str(tmp_path), "--tracking-uri", uri,
                "--storage-path", str(tmp_path / "ray"), "--set", "photos=no_photos_here")
    assert p.returncode == 2, p.stdout[-2000:] + p.stderr[-2000:]
    error = p.stderr.strip().splitlines()[-1]
    assert "no MNIST-M files" in error and "mnist_m_train_labels.txt" in error and "--set photos=FOLDER" in error
    assert not (tmp_path / "mnist_m_cache").exists()
