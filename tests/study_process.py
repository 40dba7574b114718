"""A study driver as a real process for fault tests: start it, poll its MLflow record, wait for a point."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from record import schema as S
from record.store import client
from tests.conftest import REPO


def children(uri: str, study: str = "vae_beta_sweep") -> list:
    """The trial runs of ``study`` in ``uri`` (none while the database is being created)."""
    try:
        c = client(uri)
        exp = c.get_experiment_by_name(study)
        if exp is None:
            return []
        return [r for r in c.search_runs([exp.experiment_id]) if S.PARENT_RUN_ID in r.data.tags]
    except Exception:  # noqa: BLE001 - the database may be busy or half-created while polling
        return []


def parents(uri: str, study: str = "vae_beta_sweep") -> list:
    c = client(uri)
    exp = c.get_experiment_by_name(study)
    return [r for r in c.search_runs([exp.experiment_id]) if r.data.tags.get(S.ROLE) == S.ROLE_STUDY]


def start(args: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """``python -m study.run ARGS`` in a session of its own (so a test can signal its whole process group)."""
    full = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")} | (env or {})
    return subprocess.Popen([sys.executable, "-m", "study.run", *args], cwd=REPO, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, env=full, start_new_session=True)


def wait_for(predicate, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"study ended (rc={proc.returncode}) before the fault point:\n"
                                 + log.read_text()[-3000:])
        time.sleep(0.3)
    raise AssertionError("fault point not reached in time:\n" + log.read_text()[-3000:])


def running_with(uri: str, reports: int) -> bool:
    """A trial run is RUNNING and has made at least ``reports`` reports."""
    return any(r.info.status == "RUNNING" and int(r.data.tags.get(S.REPORTS_RUN, 0)) >= reports
               for r in children(uri))


def steps(uri: str, run_id: str, metric: str) -> list[int]:
    return [m.step for m in client(uri).get_metric_history(run_id, metric)]
