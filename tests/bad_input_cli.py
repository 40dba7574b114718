"""Running ``python -m study.run`` as a new user would, for the bad-input tests: a fresh, short RAY_TMPDIR per
run (stopped and deleted after), and what the run left: its exit code, stderr, time, Ray sessions, MLflow runs."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import run_cli

# The acceptance is 10 s on an idle machine; a case here shares two cores with another case (and, on a shared
# test machine, with other work), so the bound is generous: it still fails a check that waits on Ray's
# retries (over 90 s) or on a trial that never leaves PENDING (44 s before).
WALL_BOUND_S = 30.0
CASE_TIMEOUT_S = 120  # then a case is killed and fails


@dataclass(frozen=True)
class Case:
    """``args`` may name ``{inputs}`` (a folder of files the test makes) and ``{closed_port}`` (a port
    nothing listens on); ``--profile smoke``, ``--data-root``, ``--tracking-uri`` and ``--storage-path``
    are added unless given."""

    args: tuple[str, ...]
    expect: str  # a substring of the one stderr line that names the problem
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    code: int | None  # None: killed after CASE_TIMEOUT_S
    stderr: str
    seconds: float
    folder: Path
    ray_sessions: list[str]  # session folders Ray made under the case's RAY_TMPDIR


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when this returns: nothing listens there


def ray_tmpdir() -> Path:
    """A fresh, short RAY_TMPDIR (Ray's socket paths under it must stay within a Unix socket's 107 characters)."""
    return Path(tempfile.mkdtemp(prefix="gs-bi-", dir="/tmp"))


def drop_ray_tmpdir(raytmp: Path) -> None:
    """Stop any Ray process a case started under ``raytmp`` (one whose check failed to stop it), then delete it."""
    from tests.cluster import stop_processes_under

    stop_processes_under(str(raytmp))
    shutil.rmtree(raytmp, ignore_errors=True)


def run_case(case: Case, folder: Path, inputs: Path, mnist_root: Path) -> Outcome:
    folder.mkdir()
    fill = {"inputs": inputs, "closed_port": closed_port()}
    args = [a.format(**fill) for a in case.args]
    defaults = {"--profile": "smoke", "--data-root": str(mnist_root), "--tracking-uri": f"sqlite:///{folder}/m.db",
                "--storage-path": str(folder / "ray_results")}
    extra = [x for flag, value in defaults.items() if flag not in args for x in (flag, value)]
    raytmp = ray_tmpdir()
    env = {"RAY_TMPDIR": str(raytmp), **{k: v.format(**fill) for k, v in case.env.items()}}
    start = time.monotonic()
    try:
        p = run_cli("study.run", *args, *extra, env=env, timeout=CASE_TIMEOUT_S)
        return Outcome(p.returncode, p.stderr, time.monotonic() - start, folder, ray_sessions(raytmp))
    except subprocess.TimeoutExpired as e:  # a check that waits (on Ray's retries, on a PENDING trial): this case fails
        return Outcome(None, f"timed out after {e.timeout} s", time.monotonic() - start, folder, ray_sessions(raytmp))
    finally:
        drop_ray_tmpdir(raytmp)


def running_runs(db: Path) -> int:
    """MLflow runs with status RUNNING in a SQLite tracking database, read without MLflow (which would migrate it)."""
    if not db.is_file():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='runs'").fetchone():
            return 0
        return con.execute("SELECT COUNT(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0]


def ray_sessions(raytmp: Path) -> list[str]:
    return sorted(p.name for p in raytmp.glob("ray/session_*"))


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]
