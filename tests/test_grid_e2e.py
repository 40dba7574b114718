"""The beta grid end to end (real Ray, MLflow on SQLite, real MNIST): every grid point trained once to
the end, ``analysis.export --compare beta`` against the MLflow record, and ``--models`` files that load
and reproduce the logged test numbers in an interpreter without genstudy."""

import itertools
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.analysis_study import smoke_export
from tests.conftest import run_cli
from tests.test_analysis_export import assert_png
from trainables.data import load_dataset

pytestmark = pytest.mark.e2e
STUDY = "vae_beta_grid"
EPOCHS = 2  # the smoke profile's


@pytest.fixture(scope="module")
def smoke(shared_base, mnist_root):
    s = smoke_export(shared_base, STUDY, mnist_root, ("--no-publish",),
                     export_args=("--compare", "beta", "--models", "{out}/models"))
    assert s.study_code == 0 and s.export_code == 0, s.log
    return s


@pytest.fixture(scope="module")
def runs(smoke):
    client = MlflowClient(smoke.uri)
    found = client.search_runs([client.get_experiment_by_name(STUDY).experiment_id])
    parent = next(r for r in found if r.data.tags.get("role") == "study")
    return client, parent, [r for r in found if "mlflow.parentRunId" in r.data.tags]


def test_every_grid_point_trained_once_to_the_end(runs):
    _, parent, children = runs
    points = sorted((float(c.data.params["beta"]), c.data.params["beta_schedule"]) for c in children)
    assert points == sorted(itertools.product([0.8, 1.0, 1.2], ["constant", "linear"]))
    assert {c.data.tags["status"] for c in children} == {"finished"}  # fifo: no early stopping
    assert {int(c.data.tags["epochs_run"]) for c in children} == {EPOCHS}
    assert {c.data.params["width"] for c in children} == {"400"} and {c.data.params["latent_dim"] for c in children} == {"20"}
    assert parent.data.params["searcher"] == "grid" and parent.data.params["scheduler"] == "fifo"
    assert parent.data.params["grid.beta"] == "0.8,1.0,1.2" and parent.data.metrics["n_proposed"] == 6


def test_compare_table_holds_mlflows_numbers_at_the_equal_epoch(smoke, runs):
    client, _, children = runs
    df = pd.read_csv(smoke.out / "compare_beta.csv")
    assert len(df) == 6 and set(df["at_epoch"]) == {EPOCHS}
    by_trial = {c.data.tags["trial_id"]: c for c in children}
    for _, row in df.iterrows():
        run = by_trial[row["trial_id"]]
        assert row["setting"] == f"beta={float(run.data.params['beta']):.4g}, beta_schedule={run.data.params['beta_schedule']}"
        for key in ("train_recon", "val_recon", "test_recon", "train_kl", "val_kl", "test_kl", "val_nelbo"):
            logged = next(m.value for m in client.get_metric_history(run.info.run_id, key) if m.step == EPOCHS)
            assert row[key] == pytest.approx(logged), key
        beta = float(run.data.params["beta"])
        if beta in (0.8, 1.2):  # seed 003's thresholds, beside ours, with the verdict
            bound = 130 if beta == 0.8 else 155
            assert f"test_recon < {bound} at beta={beta}" in row["reference"]
            assert row["ours_vs_reference"].endswith("meets" if row["test_recon"] < bound else "misses")
        else:
            assert pd.isna(row["reference"])
    for name in ("compare_beta_curves", "compare_beta_images"):
        assert_png(smoke.out / "figures" / f"{name}.png")
    page = (smoke.out / "report.html").read_text()
    assert "Comparison by beta" in page and f"All metrics at epoch {EPOCHS}, by beta" in page and "seed 003" in page


def test_compare_rejects_a_key_or_epoch_it_cannot_meet(smoke, tmp_path):
    for args, message in ((("--compare", "no_such_key"), "fix: one of beta, beta_schedule"),
                          (("--compare", "beta", "--at-epoch", str(EPOCHS + 1)), f"fix: pass a value in 1..{EPOCHS}"),
                          (("--at-epoch", "1"), "--at-epoch needs --compare")):
        p = run_cli("analysis.export", STUDY, "--tracking-uri", smoke.uri, "--out", str(tmp_path), *args)
        assert p.returncode == 2 and message in p.stderr, p.stderr[-2000:]
        assert not (tmp_path / "report.html").exists()


FRESH_VAE = """
import json, sys
for name in ("trainables", "analysis", "study", "search_spaces"):
    sys.modules[name] = None  # genstudy cannot be imported here
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[1])
from transforms import vae_transform
vae = torch.jit.load(sys.argv[1] + "/vae.pt")
x = vae_transform(np.load(sys.argv[2]))
torch.manual_seed(0)
recon = kl = 0.0
with torch.no_grad():
    for i in range(0, len(x), 1000):
        xb = x[i:i + 1000]
        x_hat, mu, logvar = vae(xb)
        recon += F.binary_cross_entropy(x_hat, xb, reduction="sum").item()
        kl += (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())).item()
    samples = vae.decode(torch.randn(7, mu.shape[1]))
    program = torch.export.load(sys.argv[1] + "/decoder.pt2").module()  # the same decoder, as torch.export
    same = torch.allclose(program(torch.zeros(3, mu.shape[1])), vae.decode(torch.zeros(3, mu.shape[1])), atol=1e-6)
print(json.dumps({"recon": recon / len(x), "kl": kl / len(x), "shape": list(x_hat.shape),
                  "samples": list(samples.shape), "pt2_decoder_matches": same}))
"""


def test_models_load_without_genstudy_and_reproduce_the_logged_test_numbers(smoke, runs, mnist_root, tmp_path):
    _, parent, _ = runs
    models = smoke.out / "models"
    assert {"vae.pt", "vae.pt2", "encoder.pt2", "decoder.pt2", "transforms.py", "README.md",
            "metrics.json"} <= {p.name for p in models.iterdir()}
    meta = json.loads((models / "metrics.json").read_text())
    assert meta["run_id"] == parent.data.tags["best_run_id"]  # the best trial, chosen on val_nelbo
    images = tmp_path / "test_images.npy"
    np.save(images, load_dataset("mnist", mnist_root).x_test[:, 0])  # (10000, 28, 28) uint8, as a notebook holds them
    out = subprocess.run([sys.executable, "-I", "-c", FRESH_VAE, str(models), str(images)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["shape"] == [1000, 1, 28, 28] and got["samples"] == [7, 1, 28, 28] and got["pt2_decoder_matches"]
    assert got["recon"] == pytest.approx(meta["test"]["test_recon"], rel=0.01)
    assert got["kl"] == pytest.approx(meta["test"]["test_kl"], rel=0.01)
    assert "torch.jit.load" in (models / "README.md").read_text()
