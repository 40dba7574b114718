"""The test split never steers a study: selection reads validation metrics only.

The proof is behavioural: the same smoke study (real Ray, real MLflow, real MNIST files, one trial
at a time so the order of results is fixed) runs twice, once with the test images replaced by
noise. The searcher must propose the same configurations, ASHA must stop the same trials, the same
trial must be chosen best, and every validation number must agree; only the logged test numbers differ.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from search_spaces import STUDIES
from tests.conftest import new_sqlite, run_cli
from trainables.metric_names import split_of

pytestmark = pytest.mark.e2e
HEADER = 16  # the idx header of an image file: magic, count, rows, cols
TRIALS = 4
# one trial at a time, ASHA's rungs at reports 1 and 2; 1,000 training images and 500 of each held-out split scored:
# the decisions need only differ between trials, and a trial's cost is mostly its process and Ray's start
ARGS = ("--max-concurrent", "1", "--max-epochs", "3", "--num-samples", str(TRIALS), "--set", "train_size=1000",
        "--set", "eval_size=500", "--no-publish")


def test_every_registered_studys_test_metric_is_computed_on_a_test_split():
    """``Study`` refuses a selection metric off the validation split as it is built (tests/test_selection_metric.py)
    but takes any ``test_metric``: one naming a validation or training number would be reported as the test one."""
    for study in STUDIES.values():
        assert split_of(study.test_metric) == "test", (study.name, study.test_metric)


def _noisy_copy(mnist_root: Path, dest: Path) -> Path:
    """MNIST with the 10,000 test images replaced by uniform noise (the labels and training files untouched)."""
    raw = dest / "MNIST" / "raw"
    shutil.copytree(mnist_root / "MNIST" / "raw", raw)
    images = raw / "t10k-images-idx3-ubyte"
    header = images.read_bytes()[:HEADER]
    noise = np.random.default_rng(0).integers(0, 256, 10_000 * 28 * 28, dtype=np.uint8)
    images.write_bytes(header + noise.tobytes())
    return dest


def _study(root: Path, folder: Path):
    folder.mkdir()
    uri = new_sqlite(folder)
    p = run_cli("study.run", "vae_beta_sweep", "--profile", "smoke", "--data-root", str(root), "--tracking-uri", uri,
                "--storage-path", str(folder / "ray"), *ARGS)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("vae_beta_sweep")
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("role") == "study")
    children = sorted((r for r in runs if "mlflow.parentRunId" in r.data.tags),
                      key=lambda r: r.info.start_time)  # the order trials started (one at a time)

    def history(run, key):
        return [(m.step, m.value) for m in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)]

    trials = [{"params": r.data.params, "status": r.data.tags["status"], "epochs": r.data.tags["epochs_run"],
               "order": i,
               "val": {k: history(r, k) for k in ("val_nelbo", "val_recon", "val_kl")},
               "test": {k: history(r, k) for k in ("test_nelbo", "test_recon", "test_kl")}} for i, r in enumerate(children)]
    best = next(t["order"] for t, r in zip(trials, children) if r.info.run_id == parent.data.tags["best_run_id"])
    return trials, best, parent, p.stdout


@pytest.fixture(scope="module")
def twins(tmp_path_factory, mnist_root):
    tmp = tmp_path_factory.mktemp("twins")
    clean = _study(mnist_root, tmp / "clean")
    noisy = _study(_noisy_copy(mnist_root, tmp / "noisy-data"), tmp / "noisy")
    return clean, noisy


def test_test_images_replaced_by_noise_change_no_decision(twins):
    (clean, best_clean, _, _), (noisy, best_noisy, _, _) = twins
    assert len(clean) == len(noisy) == TRIALS
    assert [t["params"] for t in clean] == [t["params"] for t in noisy]  # the searcher proposed the same configs
    assert [(t["status"], t["epochs"]) for t in clean] == [(t["status"], t["epochs"]) for t in noisy]  # ASHA alike
    assert any(t["status"] == "stopped_early" for t in clean), "ASHA stopped nothing: the test proves less"
    assert best_clean == best_noisy  # the same best trial
    for a, b in zip(clean, noisy):
        for key in a["val"]:
            assert [s for s, _ in a["val"][key]] == [s for s, _ in b["val"][key]]
            np.testing.assert_allclose([v for _, v in a["val"][key]], [v for _, v in b["val"][key]], rtol=1e-9)


def test_only_the_test_numbers_differ(twins):
    (clean, _, parent_clean, out_clean), (noisy, _, parent_noisy, _) = twins
    for a, b in zip(clean, noisy):
        for key in a["test"]:
            assert [s for s, _ in a["test"][key]] == [s for s, _ in b["test"][key]]  # logged every epoch in both
            gaps = [abs(x - y) for (_, x), (_, y) in zip(a["test"][key], b["test"][key])]
            assert min(gaps) > (1.0 if key != "test_kl" else 0.0), (key, gaps)  # noise is far harder to reconstruct
    assert parent_clean.data.metrics["best_val_nelbo"] == pytest.approx(parent_noisy.data.metrics["best_val_nelbo"])
    assert parent_noisy.data.metrics["best_test_nelbo"] > parent_clean.data.metrics["best_test_nelbo"] + 50
    assert "(chosen on val_nelbo)" in out_clean and "test_nelbo = " in out_clean


def test_resume_of_a_study_recorded_before_the_validation_split_says_how_to_start_fresh(tmp_path, mnist_root):
    """A pre-validation record (its genstudy.json names no metric) cannot be resumed into a validation search."""
    run = tmp_path / "ray" / "vae_beta_sweep-20260101-000000"
    run.mkdir(parents=True)
    (run / "genstudy.json").write_text(json.dumps({"study": "vae_beta_sweep", "profile": "smoke", "sets": [],
                                                   "parent_run_id": "x", "experiment_id": "1"}))
    (run / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")
    (run / "tuner.pkl").write_bytes(b"")  # what Tune's can_restore looks for: the record is otherwise resumable
    p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", str(tmp_path / "ray"),
                "--data-root", str(mnist_root), "--tracking-uri", f"sqlite:///{tmp_path}/m.db")
    assert p.returncode == 2
    line = p.stderr.strip().splitlines()[-1]
    assert "recorded before studies selected on a validation split" in line and "without --resume" in line
    assert not (tmp_path / "m.db").exists()  # nothing written
