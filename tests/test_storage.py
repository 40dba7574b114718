"""``--storage-path`` as a folder or a URI: kept as a URI, reached through pyarrow, resumable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from study import invocation, storage
from tests import study_process
from tests.conftest import REPO, new_sqlite, run_cli


def test_a_uri_stays_a_uri_and_a_path_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.resolve("s3://bucket/ray/") == "s3://bucket/ray"
    assert storage.resolve("file:///srv/ray") == "file:///srv/ray"
    assert storage.resolve("ray") == str(tmp_path / "ray")
    assert storage.resolve(None) == str(Path.home() / "ray_results")
    assert storage.join("s3://b/ray?endpoint_override=h:9000&scheme=http", "exp", "genstudy.json") == \
        "s3://b/ray/exp/genstudy.json?endpoint_override=h:9000&scheme=http"
    assert storage.name("s3://b/ray/vae-1?region=x") == "vae-1"
    assert not list(tmp_path.iterdir())  # resolving made no folder


def test_staging_is_local_for_remote_storage_and_in_the_experiment_for_local(tmp_path):
    assert storage.staging_dir(str(tmp_path / "exp")) == str(tmp_path / "exp" / "genstudy_best")
    assert storage.staging_dir(f"file://{tmp_path}/exp") == str(tmp_path / "exp" / "genstudy_best")
    remote = Path(storage.staging_dir("s3://bucket/ray/vae_beta_sweep-1?endpoint_override=h"))
    assert remote == storage.STAGING_ROOT.expanduser() / "vae_beta_sweep-1"


def test_record_round_trips_through_a_file_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = storage.join(f"file://{tmp_path}/ray", "vae_beta_sweep-20250101-000000")
    args = type("Args", (), {k: None for k in invocation.STUDY_ARGS} | {"study": "vae_beta_sweep"})()
    invocation.save(exp, args, "parent", "1", "sqlite:///m.db", Path("/data"), "val_nelbo")
    record = json.loads((tmp_path / "ray" / "vae_beta_sweep-20250101-000000" / "genstudy.json").read_text())
    assert record["parent_run_id"] == "parent" and record["metric"] == "val_nelbo"
    assert storage.folders(f"file://{tmp_path}/ray", "vae_") == ["vae_beta_sweep-20250101-000000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ray"]  # no ./file:/... folder


def test_nothing_to_resume_under_a_missing_uri(tmp_path):
    from record.errors import UsageError

    with pytest.raises(UsageError, match="nothing to resume"):
        invocation.find_resumable(f"file://{tmp_path}/missing", "vae_beta_sweep")


# --- end to end: a study on a URI, killed, resumed ------------------------------------------------------
# On S3 (moto's server) only: a file:// URI takes the same pyarrow path with local staging (the unit tests above),
# and a plain folder's kill and resume is end-to-end tested in test_faults, test_signals and test_disk_full.
def _children(uri: str) -> list:
    """The study's trial runs; the client takes the database's schema lock (record.store.client), since polling
    a new SQLite file while the driver creates its schema makes two schema creations (alembic "already exists")."""
    return study_process.children(uri)


def _run_killed_then_resumed(tmp_path: Path, storage_uri: str, mnist_root: Path, env: dict) -> None:
    """Start a study on ``storage_uri`` from an empty working folder, SIGKILL it once a trial has
    finished and another has reported, resume it, and check the outcome and the working folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    uri = new_sqlite(tmp_path)
    full_env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")}
    full_env.update(env, PYTHONPATH=str(REPO))
    log = tmp_path / "first.log"
    proc = subprocess.Popen([sys.executable, "-m", "study.run", "vae_beta_sweep", "--profile", "smoke",
                             "--data-root", str(mnist_root), "--tracking-uri", uri, "--storage-path", storage_uri,
                             # enough left after the fault point that the study cannot finish in the 3 s below
                             # (with 4 epochs and 12 s it did, and the resume rightly had nothing to resume; with
                             # ASHA the last trials could be stopped within it: fifo trains each to the end)
                             "--max-epochs", "6", "--num-samples", "4", "--scheduler", "fifo", "--no-publish",
                             # half the smoke profile's images, a quarter of its scoring: the same storage calls
                             "--set", "train_size=2000", "--set", "eval_size=500"],
                            cwd=cwd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=full_env,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        runs = _children(uri)
        if (any(r.info.status == "FINISHED" for r in runs)
                and any(r.info.status == "RUNNING" and int(r.data.tags.get("epochs_run", 0)) >= 1 for r in runs)):
            break
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.3)
    else:
        raise AssertionError("fault point not reached:\n" + log.read_text()[-3000:])
    # Tune snapshots the experiment at each checkpoint (genstudy keeps num_to_keep checkpoints, which forces
    # it), so a few seconds leave a snapshot with a running trial for the resume to continue
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", storage_uri, cwd=cwd, timeout=600,
                env={**env, "PYTHONPATH": str(REPO)})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "resuming" in p.stdout
    assert "model: not published (--no-publish)" in p.stdout  # the run's --no-publish, kept by --resume
    after = _children(uri)
    # a trial started after Tune's last snapshot is proposed again: its first run stays, marked KILLED
    assert len([r for r in after if r.info.status != "KILLED"]) == 4
    assert all(r.info.status != "RUNNING" for r in after)
    client = MlflowClient(uri)
    for r in after:
        steps = [m.step for m in client.get_metric_history(r.info.run_id, "val_nelbo")]
        assert len(steps) == len(set(steps)), steps  # resumed trials continued, no epoch twice
    assert list(cwd.iterdir()) == [], "something was created under the working folder"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server(tmp_path):
    """A local S3 server (moto's ``moto_server``: on PATH, or named by $GENSTUDY_MOTO_SERVER) with one bucket."""
    exe = os.environ.get("GENSTUDY_MOTO_SERVER") or shutil.which("moto_server")
    if not exe:
        pytest.skip("moto_server is not installed (pip install 'moto[server]'; the dev extra has it)")
    port = _free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true"}
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        import pyarrow.fs as pafs

        os.environ.update(env)
        fs = pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1",
                               allow_bucket_creation=True)
        fs.create_dir("genstudy")
        yield f"s3://genstudy/ray?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1", env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.e2e
def test_an_s3_study_runs_and_resumes(tmp_path, mnist_root, s3_server):
    uri, env = s3_server
    _run_killed_then_resumed(tmp_path, uri, mnist_root, env)
    names = storage.folders(uri, "vae_beta_sweep-")
    assert len(names) == 1
    exp = storage.join(uri, names[0])
    assert json.loads(storage.read_text(storage.join(exp, "genstudy.json")))["metric"] == "val_nelbo"
    assert storage.read_text(storage.join(exp, "optuna_journal.log"))
    assert not Path(storage.staging_dir(exp)).exists()  # the local staging of best checkpoints is cleared


def test_s3_writes_small_files_in_one_request():
    assert storage.pyarrow_uri("s3://b/ray/x.json?endpoint_override=h:9000&scheme=http") == \
        "s3://b/ray/x.json?endpoint_override=h:9000&scheme=http&allow_delayed_open=true"
    assert storage.pyarrow_uri("s3://b/ray/x.json") == "s3://b/ray/x.json?allow_delayed_open=true"
    assert storage.pyarrow_uri("s3://b/x?allow_delayed_open=false").endswith("=false")
    assert storage.pyarrow_uri("file:///tmp/x") == "file:///tmp/x"
