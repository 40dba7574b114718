"""SIGTERM and SIGINT sent to the real driver process: a graceful stop that loses nothing, then --resume.

SLURM, Kubernetes and every batch scheduler send SIGTERM before they kill a job; Ctrl-C sends SIGINT.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from record import schema as S
from record.store import client
from tests.conftest import new_sqlite, run_cli
from tests.study_process import children, parents, running_with, start, steps, wait_for

pytestmark = pytest.mark.e2e

# long enough that the signal (sent at a trial's second report) finds trials running (4 reports of it left, and
# the third trial not started); the resume trains the rest
LONG = ["--max-epochs", "6", "--num-samples", "3", "--set", "train_size=8000", "--set", "arch=mlp"]


def _args(uri: str, tmp_path, mnist_root, *extra: str) -> list[str]:
    return ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
            "--storage-path", str(tmp_path / "ray"), "--no-publish", *extra]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_study_gracefully_and_resume_continues_it(tmp_path, mnist_root, sig):
    uri, log = new_sqlite(tmp_path), tmp_path / "first.log"
    proc = start(_args(uri, tmp_path, mnist_root, *LONG), log)
    wait_for(lambda: running_with(uri, 2), proc, 300, log)
    sent = time.monotonic()
    os.kill(proc.pid, sig)  # the driver only, as a scheduler does (Ctrl-C would signal the whole group)
    code = proc.wait(timeout=120)
    took = time.monotonic() - sent
    out = log.read_text()
    assert code == 128 + sig, out[-3000:]
    name = signal.Signals(sig).name
    last = out.strip().splitlines()[-1]
    assert f"stopped by {name}; continue it with: python -m study.run vae_beta_sweep --resume --storage-path " \
           f"{tmp_path / 'ray'}" in last
    runs = children(uri)
    assert runs and all(r.info.status != "RUNNING" for r in runs)  # nothing left RUNNING
    killed = [r for r in runs if r.info.status == "KILLED"]
    assert killed and all(r.data.tags[S.KILLED_BY] == name and r.data.tags[S.STATUS] == S.KILLED for r in killed)
    (parent,) = parents(uri)
    assert parent.info.status == "KILLED" and parent.data.tags[S.KILLED_BY] == name
    logged = {r.info.run_id: steps(uri, r.info.run_id, "val_nelbo") for r in runs}
    assert max(len(v) for v in logged.values()) >= 2  # the reports made before the signal are in MLflow
    assert all(v == list(range(1, len(v) + 1)) for v in logged.values())
    print(f"{name}: exited {code} {took:.1f} s after the signal")
    if sig == signal.SIGINT:
        return  # the record is the same whichever signal stopped it: one resume (after SIGTERM) covers both


    p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", str(tmp_path / "ray"), timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    after = children(uri)
    assert all(r.info.status == "FINISHED" for r in after)
    for r in after:
        done = steps(uri, r.info.run_id, "val_nelbo")
        assert len(done) == len(set(done)), f"{r.data.tags[S.TRIAL_ID]} repeated reports {done}"
        before = logged.get(r.info.run_id, [])  # a trial the signal kept from starting has a new run
        assert done[:len(before)] == before  # continued, not restarted
        assert S.KILLED_BY not in r.data.tags  # resumed: no longer says it was killed
    (parent,) = parents(uri)
    assert parent.info.status == "FINISHED" and S.KILLED_BY not in parent.data.tags


def test_a_second_signal_exits_at_once(tmp_path, mnist_root):
    uri, log = new_sqlite(tmp_path), tmp_path / "run.log"
    proc = start(_args(uri, tmp_path, mnist_root, *LONG), log)
    wait_for(lambda: running_with(uri, 1), proc, 300, log)
    os.kill(proc.pid, signal.SIGINT)
    # the second once the first is being handled: two sent while the main thread waits in C are handled as one
    wait_for(lambda: "SIGINT received" in log.read_text(), proc, 60, log)
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert "SIGINT again: exiting now" in log.read_text()


def test_a_signal_during_set_up_leaves_no_running_run(tmp_path, mnist_root):
    uri, log = new_sqlite(tmp_path), tmp_path / "run.log"
    proc = start(_args(uri, tmp_path, mnist_root, "--num-samples", "2"), log)
    time.sleep(4)  # importing, loading MNIST, starting Ray, making the parent run
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=120) == 143, log.read_text()[-3000:]
    assert "stopped by SIGTERM" in log.read_text()
    if client(uri).get_experiment_by_name("vae_beta_sweep") is not None:  # the parent run may not exist yet
        assert all(r.info.status != "RUNNING" for r in children(uri) + parents(uri))
