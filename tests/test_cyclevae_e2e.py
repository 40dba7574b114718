"""The cycle-consistent VAE study end to end: real Ray, real MLflow (SQLite), real MNIST files.

Within the CI budget the rest runs without Ray: the Sprites smoke profile trains on generated files
(tests/test_cyclevae_fit.py), a missing Sprites file is the study's one-line usage error (tests/test_cyclevae_data.py;
the runner's exit 2 on it is the CIFAR-10 and DANN e2e tests'), a latent size over the cap is counted over it
(tests/test_cyclevae_space.py; the runner's rejection is the VAE e2e test's)."""

import pandas as pd
import pytest
import torch

from analysis.checkpoints import load_model
from analysis.figures.common import image_steps
from tests.analysis_study import smoke_export
from tests.test_analysis_export import assert_png
from tests.test_vae_e2e import _runs  # (client, parent runs, child runs) of a study
from trainables import metric_names as M
from trainables.data.cyclevae_data import load_cyclevae_data
from trainables.cyclevae_eval import evaluate
from trainables.data.paired import SPLITS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mnist_smoke(shared_base, mnist_root):
    # the smoke profile on 1,000 training images, 500 of each held-out split scored (its 2,000 and 1,000: half the
    # training and scoring, the same code paths)
    s = smoke_export(shared_base, "cyclevae_sweep", mnist_root, ("--set", "train_size=1000", "--set", "eval_size=500"))
    assert s.study_code == 0 and s.export_code == 0, s.log
    return s, s.uri


def test_mnist_smoke_study_records_every_trial(mnist_smoke):
    smoke, uri = mnist_smoke
    assert "chosen on val_disentangle_score" in smoke.log and "test_disentangle_score" in smoke.log
    client, parents, children = _runs(uri, "cyclevae_sweep")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.metrics["n_proposed"] == 3 and len(children) == 3
    for c in children:
        epochs = int(c.data.tags["epochs_run"])
        for key in (M.VAL_DISENTANGLE_SCORE, M.TEST_DISENTANGLE_SCORE, M.VAL_ACC_GAP, M.VAL_S_ACC, M.TEST_ZSAMPLE_ACC,
                    M.TEST_ZMEAN_ACC, M.TRAIN_ZSAMPLE_ACC, M.VAL_Z_KL, M.TEST_Z_KL, M.VAL_RECON_MSE,
                    M.TRAIN_REVERSE_L1):
            steps = [m.step for m in client.get_metric_history(c.info.run_id, key)]
            assert sorted(steps) == list(range(1, epochs + 1)), key
        assert c.data.params["dataset"] == "mnist" and "reverse_weight" in c.data.params
        images = [a.path for a in client.list_artifacts(c.info.run_id, "images")]
        for key in ("swap", "recon"):  # written every epoch by the smoke profile (image_every=1)
            assert sorted(image_steps(images, key)) == list(range(1, epochs + 1)), key
    assert parents[0].data.metrics["best_test_disentangle_score"] <= 1.0


def test_best_checkpoint_reloads_and_reproduces_its_metrics(mnist_smoke, mnist_root):
    _, uri = mnist_smoke
    client, parents, _ = _runs(uri, "cyclevae_sweep")
    best_run = parents[0].data.tags["best_run_id"]
    assert {"model.safetensors", "config.json"} <= {a.path for a in client.list_artifacts(best_run)}
    model, cfg = load_model(best_run, uri)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trial ran (1 CPU): the probes' float sums in the same order
    try:
        data = load_cyclevae_data({"dataset": "mnist"}, mnist_root).subset(cfg.train_size)
        tensors = {s: tuple(torch.from_numpy(a.copy()) for a in data.split(s)) for s in SPLITS}
        again = evaluate(model, data, tensors, cfg)
    finally:
        torch.set_num_threads(threads)
    history = client.get_metric_history(best_run, M.VAL_DISENTANGLE_SCORE)
    step = max(history, key=lambda m: m.value).step  # the kept checkpoint: the best val_disentangle_score
    for key in (M.VAL_DISENTANGLE_SCORE, M.TEST_DISENTANGLE_SCORE, M.VAL_Z_KL, M.VAL_RECON_MSE):
        logged = [m.value for m in client.get_metric_history(best_run, key) if m.step == step][0]
        assert again[key] == pytest.approx(logged, abs=1e-6), key


def test_export_writes_table_1_and_every_figure(mnist_smoke):
    smoke, _ = mnist_smoke
    for name in ("curves", "swap", "interpolations", "predictions", "tsne"):
        assert_png(smoke.out / "figures" / f"cyclevae_best_{name}.png")
    table = pd.read_csv(smoke.out / "cyclevae_table1.csv")
    ours = table[table["source"].str.startswith("ours")]
    paper = table[table["source"].str.contains("paper")]
    sizes = list(zip(ours["z dim"], ours["s dim"]))
    assert (16, 16) in sizes and len(sizes) == len(set(sizes))  # one row per latent size; the baseline is 16/16
    columns = ["z dim", "s dim", "z-sample test acc. (%)", "z-mean test acc. (%)", "s test acc. (%)"]
    assert paper[columns].values.tolist() == [[16, 16, 17.56, 17.56, 98.35]]  # the paper's z beside both z probes
    assert ((ours["s test acc. (%)"] >= 0) & (ours["s test acc. (%)"] <= 100)).all()
    page = (smoke.out / "report.html").read_text()
    assert "Table 1: label accuracy of probes on z and on s" in page and "swap grid" in page

