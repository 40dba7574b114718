"""Fault tolerance proven by fault injection: real processes, real Ray, real MLflow (SQLite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from benchmarks.procs import cmdline, descendants
from record import reader
from record import schema as S
from tests.conftest import REPO, new_sqlite, run_cli
from tests.study_process import children as _children
from tests.study_process import start as _start
from tests.study_process import wait_for as _wait_for

pytestmark = pytest.mark.e2e


def test_sigkill_of_driver_then_resume(tmp_path, mnist_root):
    uri, storage = new_sqlite(tmp_path), str(tmp_path / "ray")
    args = ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
            "--storage-path", storage, "--max-epochs", "6", "--no-publish", "--set", "train_size=2000",
            "--set", "eval_size=500",  # half the smoke profile's images, a quarter of its scoring
            "--scheduler", "fifo"]  # no trial stopped by ASHA between the fault point and the kill
    proc = _start(args, tmp_path / "first.log")

    def some_done_some_running():
        runs = _children(uri)
        return (any(r.info.status == "FINISHED" for r in runs)
                and any(r.info.status == "RUNNING" and int(r.data.tags.get("epochs_run", 0)) >= 1 for r in runs))

    _wait_for(some_done_some_running, proc, 300, tmp_path / "first.log")
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started, at once
    proc.wait()
    client = MlflowClient(uri)
    # Tune snapshots its state every ~10 s: a trial can end in MLflow after the last snapshot.
    # Make that happen for sure: end one running trial in MLflow the way the callback would.
    running = [r for r in _children(uri) if r.info.status == "RUNNING" and int(r.data.tags.get("epochs_run", 0)) >= 1]
    late = running[0]
    client.set_tag(late.info.run_id, "status", "stopped_early")
    client.set_terminated(late.info.run_id, "FINISHED")
    before = {r.info.run_id: len(client.get_metric_history(r.info.run_id, "test_nelbo"))
              for r in _children(uri) if r.info.status == "FINISHED"}
    assert len(before) >= 2

    p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", storage, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "resuming" in p.stdout
    after = _children(uri)
    assert all(r.info.status != "RUNNING" for r in after)
    for run_id, n in before.items():  # finished trials did not run again
        assert len(client.get_metric_history(run_id, "test_nelbo")) == n
    late_after = client.get_run(late.info.run_id)
    assert late_after.info.status == "FINISHED" and late_after.data.tags["status"] == "stopped_early"
    for r in after:
        steps = [m.step for m in client.get_metric_history(r.info.run_id, "test_nelbo")]
        assert len(steps) == len(set(steps)), f"{r.data.tags['trial_id']} repeated epochs {steps}"
    trial_ids = [r.data.tags["trial_id"] for r in after]
    assert len(trial_ids) == len(set(trial_ids))  # one run per trial, resumed trials reuse theirs
    parents = [r for r in client.search_runs([client.get_experiment_by_name("vae_beta_sweep").experiment_id])
               if r.data.tags.get("role") == "study"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.metrics["n_proposed"] == 6


def test_killed_trial_worker_resumes_from_checkpoint(tmp_path, mnist_root):
    uri = new_sqlite(tmp_path)
    args = ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
            "--storage-path", str(tmp_path / "ray"), "--num-samples", "1", "--max-epochs", "5",
            "--set", "arch=mlp", "--set", "train_size=30000", "--no-publish"]
    proc = _start(args, tmp_path / "run.log")

    def two_epochs_logged():
        runs = _children(uri)
        return bool(runs) and int(runs[0].data.tags.get("epochs_run", 0)) >= 2

    _wait_for(two_epochs_logged, proc, 300, tmp_path / "run.log")
    workers = [pid for pid in descendants(proc.pid) if "ImplicitFunc" in cmdline(pid)]
    assert workers, "no trial worker found"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=600) == 0, (tmp_path / "run.log").read_text()[-3000:]
    (run,) = _children(uri)
    client = MlflowClient(uri)
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "test_nelbo")]
    assert sorted(steps) == [1, 2, 3, 4, 5], steps  # every epoch once: resumed, not restarted
    assert run.info.status == "FINISHED" and run.data.tags["status"] == "finished"


NAN_DRIVER = """
import sys
import search_spaces
from study.run import main

study = search_spaces.STUDIES["vae_beta_sweep"]
space = study.space

def space_with_one_bad_lr(p):
    cfg = space(p)
    if p.trial.number == 1:
        cfg["lr"] = 1e6  # the second proposal diverges
    return cfg

object.__setattr__(study, "space", space_with_one_bad_lr)
sys.exit(main(sys.argv[1:]))
"""


def test_nan_trial_fails_as_diverged_and_others_finish(tmp_path, mnist_root):
    uri = new_sqlite(tmp_path)
    p = subprocess.run([sys.executable, "-c", NAN_DRIVER, "vae_beta_sweep", "--profile", "smoke",
                        "--data-root", str(mnist_root), "--tracking-uri", uri, "--storage-path",
                        str(tmp_path / "ray"), "--num-samples", "4", "--max-epochs", "2", "--set", "arch=mlp", "--no-publish"],
                       cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    runs = _children(uri)
    failed = [r for r in runs if r.info.status == "FAILED"]
    assert len(failed) == 1 and len(runs) == 4
    tags = failed[0].data.tags
    assert tags["failure_reason"] == "diverged" and tags["error"].startswith("diverged:")
    assert float(failed[0].data.params["lr"]) == 1e6
    assert all(r.info.status == "FINISHED" for r in runs if r is not failed[0])
    assert "1 failed" in p.stdout
    # --no-publish: no MLflow model, no programs; the checkpoint stays
    assert "model: not published (--no-publish)" in p.stdout
    client = MlflowClient(uri)
    (parent,) = reader.study_runs(client, runs[0].info.experiment_id)
    assert S.BEST_MODEL_URI not in parent.data.tags
    names = {a.path for a in client.list_artifacts(parent.data.tags[S.BEST_RUN_ID])}
    assert "model.safetensors" in names and not any(n.endswith((".pt2", ".pt")) for n in names), names
