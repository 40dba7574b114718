"""The confirmation end to end: real Ray, real MLflow, real MNIST, with the family's final metrics (the VAE's
importance-weighted NLL: binarised pixels, the smoke profile's k = 50, on 50 images a split) measured on each
confirmation run; and a study killed during it resumes it."""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.confirm_study import confirmed_export, confirmed_study
from tests.conftest import new_sqlite, run_cli
from tests.test_faults import _children, _start, _wait_for
from trainables import metric_names as M

pytestmark = pytest.mark.e2e
ARGS = ("--profile", "smoke", "--num-samples", "3", "--confirm", "2", "--confirm-seeds", "2")


def _phases(uri: str):
    runs = _children(uri)
    confirm = [r for r in runs if r.data.tags.get("phase") == "confirm"]
    search = [r for r in runs if r.data.tags.get("phase") == "search"]
    return search, confirm


def test_smoke_study_confirms_its_top_two_with_fresh_seeds(tmp_path, shared_base, mnist_root):
    p = confirmed_study(shared_base, mnist_root)  # 3 trials, then the top 2 with 2 fresh seeds each, binarised
    uri = p.uri
    assert p.code == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "confirmation: the top 2 configurations, 2 fresh seeds each" in p.stdout and " ± " in p.stdout
    search, confirm = _phases(uri)
    assert len(search) == 3 and len(confirm) == 4
    client = MlflowClient(uri)
    for run in confirm:
        assert run.info.status == "FINISHED" and run.data.tags["status"] == "finished"  # no early stopping
        origin = next(s for s in search if s.data.tags["trial_id"] == run.data.tags["confirm_of"])
        same = {k: v for k, v in run.data.params.items() if k != "seed"}
        assert same == {k: v for k, v in origin.data.params.items() if k != "seed"}  # the configuration, again
        assert run.data.params["seed"] != origin.data.params["seed"] == "0"
    assert len({r.data.params["seed"] for r in confirm}) == 2
    parent = client.get_run(confirm[0].data.tags["mlflow.parentRunId"])
    assert parent.info.status == "FINISHED"
    assert {"confirm_1_val_nelbo_mean", "confirm_1_val_nelbo_sd", "confirm_2_val_nelbo_mean"} <= set(parent.data.metrics)
    doc = json.loads(Path(client.download_artifacts(parent.info.run_id, "confirmation.json", str(tmp_path))).read_text())
    assert len(doc["rows"]) == 2 and all(len(r["values"]) == 2 for r in doc["rows"])
    assert parent.data.tags["confirm_order_changed"] in ("true", "false")
    for rank in (1, 2):  # the estimate on every seed's kept checkpoint, its mean and sd over seeds on the parent
        seeds = [r for r in confirm if r.data.tags["confirm_rank"] == str(rank)]
        for name in M.NLL_IW_METRICS:
            values = [r.data.metrics[name] for r in seeds]
            assert parent.data.metrics[f"confirm_{rank}_{name}_mean"] == pytest.approx(statistics.fmean(values))
            assert parent.data.metrics[f"confirm_{rank}_{name}_sd"] == pytest.approx(statistics.stdev(values))
    assert "confirmation runs: final metrics measured on 4 kept checkpoints in " in p.stdout
    assert f"{M.TEST_NLL_IW} " in p.stdout.split("confirmation: the top 2")[1]

    e = confirmed_export(shared_base, mnist_root)  # shared with tests/test_vae_nll_e2e.py
    assert e.code == 0, e.stderr
    out = e.out
    page = (out / "report.html").read_text()
    assert "Confirmation of the top configurations" in page and (out / "confirmation.csv").is_file()
    assert "figures/study_pareto.png" in page and (out / "figures" / "study_pareto.png").is_file()
    board = (out / "leaderboard.csv").read_text()
    assert "confirmed_rank" in board and board.count("\n") == 4  # the search's 3 trials; confirmation runs apart
    assert f"<th>{M.TEST_NLL_IW}_mean</th>" in page and f"<th>{M.TEST_NLL_IW}_confirm_mean</th>" in page
    assert f"{M.TEST_NLL_IW}_confirm_mean" in board.splitlines()[0]


def test_study_killed_during_confirmation_resumes_it_without_searching_again(tmp_path, mnist_root):
    uri, storage = new_sqlite(tmp_path), str(tmp_path / "ray")
    # 2 reports a run: the fault point is the first confirmation run's first report, and two of the four runs have
    # not started then whatever the epochs, so the resume always has confirmation left to do; nothing published
    # (tests/test_vae_e2e.py checks publishing)
    epochs = 2
    args = ["vae_beta_sweep", *ARGS, "--max-epochs", str(epochs), "--data-root", str(mnist_root), "--tracking-uri", uri,
            "--storage-path", storage, "--set", "train_size=2000", "--no-publish"]
    proc = _start(args, tmp_path / "first.log")

    def confirming():
        _, confirm = _phases(uri)
        return any(int(r.data.tags.get("epochs_run", 0)) >= 1 for r in confirm)

    _wait_for(confirming, proc, 600, tmp_path / "first.log")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1)
    search_before, confirm_before = _phases(uri)
    assert len(search_before) == 3 and all(r.data.tags.get("status") for r in search_before)
    p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", storage)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    search, confirm = _phases(uri)
    assert sorted(r.info.run_id for r in search) == sorted(r.info.run_id for r in search_before)  # no new search
    assert len(confirm) == 4 and all(r.data.tags["status"] == "finished" for r in confirm)
    client = MlflowClient(uri)
    for run in confirm:  # every report logged once, resumed ones included
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_nelbo")]
        assert sorted(steps) == list(range(1, epochs + 1)), steps
    assert "confirmation: the top 2 configurations" in p.stdout
