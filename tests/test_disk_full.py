"""A disk that fills up mid-study, on a real small filesystem (a tmpfs mounted by the test): Tune's storage
path (trial checkpoints and Tune's state), then the SQLite tracking database. Nothing written before is
corrupted, the study stops with a named reason, and ``--resume`` finishes it once there is space again."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from record import schema as S
from study.interrupts import EXIT_DISK_FULL, EXIT_RECORD
from tests.conftest import new_sqlite, run_cli
from tests.study_process import children, parents, running_with, start, steps, wait_for

pytestmark = pytest.mark.e2e
SIZE_MB = 64


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int = SIZE_MB):
    """A tmpfs of ``size_mb`` at ``path`` (root only, as in CI); skipped with the reason where it cannot be mounted."""
    path.mkdir(parents=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], capture_output=True,
                       text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here ({p.stderr.strip() or p.returncode})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk`` with one file (deleting it frees the disk)."""
    ballast = disk / "ballast"
    free = shutil.disk_usage(disk).free
    with open(ballast, "wb") as f:
        with contextlib.suppress(OSError):
            f.write(b"\0" * free)
    return ballast


def _args(mnist_root, uri: str, storage: Path, *extra: str) -> list[str]:
    return ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
            "--storage-path", str(storage), "--num-samples", "2", "--max-epochs", "5", "--set", "arch=mlp",
            "--set", "width=128", "--set", "train_size=5000", *extra,  # 3 reports left at the fault point
            # 500 images a split scored, not the smoke profile's 2,000, and no published model: what is checked is
            # the record and the resume (a failed publication never changes the exit code: study.best.publish)
            "--set", "eval_size=500", "--no-publish"]


def test_a_full_storage_disk_stops_the_study_and_resume_finishes_it(tmp_path, mnist_root):
    uri, log = new_sqlite(tmp_path), tmp_path / "study.log"
    with small_disk(tmp_path / "small") as disk:
        proc = start(_args(mnist_root, uri, disk / "ray"), log)
        wait_for(lambda: running_with(uri, 2), proc, 300, log)
        ballast = fill(disk)
        code = proc.wait(timeout=600)
        out = log.read_text()
        assert code == EXIT_DISK_FULL, out[-3000:]
        assert "disk full" in out.strip().splitlines()[-1] and "--resume" in out.strip().splitlines()[-1]
        runs = children(uri)
        assert all(r.info.status != "RUNNING" for r in runs)
        assert any(r.data.tags.get(S.KILLED_BY) == S.DISK_FULL for r in runs)
        before = {r.info.run_id: steps(uri, r.info.run_id, "val_nelbo") for r in runs}
        ballast.unlink()
        p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", str(disk / "ray"), timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        for r in children(uri):
            done = steps(uri, r.info.run_id, "val_nelbo")
            assert r.info.status == "FINISHED" and done == list(range(1, len(done) + 1))
            assert done[:len(before.get(r.info.run_id, []))] == before.get(r.info.run_id, [])  # continued
        assert parents(uri)[0].info.status == "FINISHED"


def test_a_full_tracking_disk_keeps_the_writes_and_resume_writes_them(tmp_path, mnist_root):
    log = tmp_path / "study.log"
    with small_disk(tmp_path / "small", 16) as disk:
        uri = f"sqlite:///{disk}/m.db"
        proc = start(_args(mnist_root, uri, tmp_path / "ray"), log, env={"GENSTUDY_MLFLOW_PATIENCE_S": "5"})
        wait_for(lambda: running_with(uri, 2), proc, 300, log)
        ballast = fill(disk)
        code = proc.wait(timeout=600)
        out = log.read_text()
        assert code == EXIT_RECORD, out[-3000:]
        assert "writes are kept in" in out.strip().splitlines()[-1]
        os.remove(ballast)
        p = run_cli("study.run", "vae_beta_sweep", "--resume", "--storage-path", str(tmp_path / "ray"), timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        for r in children(uri):  # the database was never corrupted, and now holds every report once
            done = steps(uri, r.info.run_id, "val_nelbo")
            assert r.info.status == "FINISHED" and done == list(range(1, int(r.data.tags[S.REPORTS_RUN]) + 1))
