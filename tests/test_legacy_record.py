"""Records written before the record/ package and the one checkpoint layout still read, export and resume.

``tests/fixtures/legacy_record.tar.xz`` was written by genstudy at commit 1188309 (before ``record/``):

    python -m study.run vae_beta_sweep --profile smoke --num-samples 2 --max-epochs 2 --set arch=mlp \\
        --set width=32 --set depth=1 --set latent_dim=4 --set train_size=1000 --confirm 0 \\
        --tracking-uri sqlite:////tmp/legacy/mlflow.db --storage-path /tmp/legacy/ray --data-root ../shared/data
    python -m study.run gan_loss_sweep --profile smoke --num-samples 2 --set width=16 --set depth=2 \\
        --set train_size=512 --set eval_samples=200 --set latent_dim=8 --confirm 0 (same store)

It holds the MLflow database and artifacts (parent runs without ``family``/``unit`` tags or
``references.json``; VAE checkpoints whose ``config.json`` says ``epoch``; GAN trials with a per-trial
``generator.pt``), and one Tune checkpoint of each family in the old layout (``checkpoints/``).
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli
from trainables.checkpoint import CONFIG_FILE, report_of
from trainables.data import load_dataset
from trainables.families import FAMILIES

FIXTURE = REPO / "tests" / "fixtures" / "legacy_record.tar.xz"
WRITTEN_AT = "/tmp/legacy/"  # where the fixture's artifact locations pointed when it was written


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Path:
    """The fixture unpacked, its artifact locations moved to where it now lies."""
    root = tmp_path_factory.mktemp("legacy")
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(root, filter="data")
    db = sqlite3.connect(root / "mlflow.db")
    for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                          ("logged_models", "artifact_location")):
        db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (WRITTEN_AT, f"{root}/"))
    db.commit()
    db.close()
    return root


@pytest.mark.parametrize("study, files", [
    ("vae_beta_sweep", ["encoder.pt2", "decoder.pt2", "vae.pt2", "vae.pt"]),
    ("gan_loss_sweep", ["generator.pt2", "discriminator.pt2", "generator.pt", "discriminator.pt"]),
])
def test_a_record_of_the_previous_layout_exports(legacy, mnist_root, tmp_path, study, files):
    out, models = tmp_path / "export", tmp_path / "models"
    p = run_cli("analysis.export", study, "--tracking-uri", f"sqlite:///{legacy}/mlflow.db", "--out", str(out),
                "--data-root", str(mnist_root), "--models", str(models), "--tsne-points", "200",
                "--svm-train-size", "1000", "--quiet", timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    best = yaml.safe_load((out / "best_config.yaml").read_text())
    assert best["study"] == study and best["family"] == study.split("_")[0]  # the family read from a checkpoint
    assert len((out / "leaderboard.csv").read_text().strip().splitlines()) == 3  # header and both trials
    report = (out / "report.html").read_text()
    assert report.count("<img") >= 5 and "Models that load without genstudy" in report
    assert sorted(f.name for f in models.iterdir()) == sorted([*files, "transforms.py", "README.md", "metrics.json"])


def _legacy_checkpoint(legacy: Path, name: str) -> tuple[Path, dict]:
    folder = legacy / "checkpoints" / name
    return folder, json.loads((folder / CONFIG_FILE).read_text())


def test_an_old_vae_checkpoint_resumes(legacy, mnist_root):
    folder, meta = _legacy_checkpoint(legacy, "vae_epoch_layout")
    assert "report" not in meta and report_of(meta) == 2  # the old layout named its report "epoch"
    family = FAMILIES["vae"]
    cfg = family.make_config({**meta["config"], "max_epochs": 3})
    seen = []
    family.fit(cfg, lambda m, d: seen.append((m, json.loads((Path(d) / CONFIG_FILE).read_text()))),
               load_dataset("mnist", mnist_root), resume_from=str(folder))
    assert [m["epoch"] for m, _ in seen] == [3]  # it continues after its epoch, from its optimizer state
    assert seen[0][1]["report"] == 3 and seen[0][1]["unit"] == "epoch" and seen[0][1]["family"] == "vae"


def test_an_old_gan_checkpoint_resumes(legacy, mnist_root):
    folder, meta = _legacy_checkpoint(legacy, "gan_report_layout")
    family = FAMILIES["gan"]
    cfg = family.make_config({**meta["config"], "max_epochs": 2})  # 2 reports an epoch: reports 3 and 4 remain
    seen = []
    family.fit(cfg, lambda m, d: seen.append(json.loads((Path(d) / CONFIG_FILE).read_text())["report"]),
               load_dataset("mnist", mnist_root), resume_from=str(folder))
    assert report_of(meta) == 2 and seen == [3, 4]
