"""A team's tracking set-up on loopback, started and stopped by the tests: a throwaway PostgreSQL cluster (``initdb``
in a temporary folder, password authentication over 127.0.0.1) holding MLflow's backend and auth databases, and
``mlflow server --app-name basic-auth`` in front of it with a generated admin user.

Debian's ``postgresql`` package (``scripts/install_postgres.sh``) and ``psycopg`` (the ``postgres`` extra).
PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` system user the package
creates and ``initdb``/``pg_ctl`` run as that user (``runuser``).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.cluster import free_port

HOST = "127.0.0.1"
DB_USER = "genstudy"
BACKEND_DB, AUTH_DB = "mlflow", "mlflow_auth"
START_TIMEOUT_S = 90.0
# a checked password is trusted for this long (MLflow 3.17's opt-in cache): without it every request pays a scrypt
# check, 258 ms of server CPU per authorised request, 10 ms with it (40 set_tag calls each, measured on 2 shared cores)
AUTH_CACHE_TTL_S = 60
MISSING = ("PostgreSQL's initdb/pg_ctl are not under /usr/lib/postgresql/*/bin nor on PATH; "
           "install them with scripts/install_postgres.sh")


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed (the only reason the team tests skip)."""


@dataclass
class TeamServer:
    """What a client of the running set-up needs, plus the pids the set-up started (for the leftover check)."""

    uri: str  # the basic-auth MLflow server, http://127.0.0.1:P
    username: str  # its admin user
    password: str
    database_uri: str  # postgresql+psycopg://... straight to the MLflow backend database
    artifacts: Path  # the server's --artifacts-destination
    mlflow_pid: int = 0  # leader of the server's process group (uvicorn and its worker)
    postmaster_pid: int = 0
    started: set[int] = field(default_factory=set)  # every pid seen in the set-up while it ran

    def env(self) -> dict[str, str]:
        """The variables MLflow's client reads its basic-auth credentials from."""
        return {"MLFLOW_TRACKING_USERNAME": self.username, "MLFLOW_TRACKING_PASSWORD": self.password}

    def processes(self) -> set[int]:
        """Live pids of the set-up: the server's process group, the postmaster and its children."""
        live = set()
        for pid, (state, ppid, pgid) in _proc_table().items():
            # 0 means "not started": kernel threads have process group 0 and parent 0
            mine = (self.mlflow_pid and pgid == self.mlflow_pid) or (self.postmaster_pid and
                                                                     self.postmaster_pid in (pid, ppid))
            if state != "Z" and mine:
                live.add(pid)
        return live

    def leftover(self) -> set[int]:
        """Pids the set-up started that are still alive (empty after a clean stop)."""
        table = _proc_table()
        alive = {pid for pid, (state, _, _) in table.items() if state != "Z"}
        return (self.started & alive) | self.processes()


def postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian's newest /usr/lib/postgresql/N/bin, else the PATH's."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name)
                  if Path(d).parent.name.isdigit() else 0)
    for d in reversed(dirs):
        if os.access(Path(d) / "initdb", os.X_OK) and os.access(Path(d) / "pg_ctl", os.X_OK):
            return Path(d)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return Path(initdb).parent if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent else None


@contextmanager
def team_server(tmp_path: Path, workers: int = 1) -> Iterator[TeamServer]:
    """PostgreSQL plus the basic-auth MLflow server on 127.0.0.1, both stopped (by pid) on exit.

    Args:
        tmp_path: where the server log, the generated basic_auth.ini, the artifacts and a copy of the
            PostgreSQL log go; the cluster itself lives in a short /tmp folder of its own (socket path limit,
            and under root the ``postgres`` user must reach it), removed on exit.
        workers: uvicorn workers of the MLflow server.

    Raises:
        PostgresMissing: no ``initdb``/``pg_ctl``.
        RuntimeError: a start failed; the message ends with the last lines of that program's log.
    """
    bindir = postgres_bin()
    if bindir is None:
        raise PostgresMissing(MISSING)
    cluster = Path(tempfile.mkdtemp(prefix="gs-pg-", dir="/tmp"))
    data, sock, pg_log = cluster / "data", cluster / "sock", cluster / "postgres.log"
    sock.mkdir()
    if os.geteuid() == 0:  # hand the cluster folder to the postgres system user; our tmp_path stays root's
        shutil.chown(cluster, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    os.chmod(cluster, 0o700)
    pg_port, http_port = free_port(), free_port()
    password = secrets.token_urlsafe(18)
    server = TeamServer(uri=f"http://{HOST}:{http_port}", username=f"admin-{secrets.token_hex(3)}",
                        password=secrets.token_urlsafe(18),
                        database_uri=f"postgresql+psycopg://{DB_USER}:{password}@{HOST}:{pg_port}/{BACKEND_DB}",
                        artifacts=tmp_path / "artifacts")
    proc, log = None, None
    try:
        _run_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"])
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '{HOST}'\nport = {pg_port}\nunix_socket_directories = '{sock}'\n"
                       "fsync = off  # a throwaway cluster: speed over durability\n")
        try:
            _run_as_owner([str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(pg_log), "-w", "-t", "60"])
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{_tail(pg_log)}") from None
        server.postmaster_pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        _create_databases(sock, pg_port, password)

        ini = tmp_path / "basic_auth.ini"
        ini.write_text(_auth_ini(server, f"postgresql+psycopg://{DB_USER}:{password}@{HOST}:{pg_port}/{AUTH_DB}"))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MLFLOW_AUTH_ADMIN_", "MLFLOW_TRACKING_"))}  # they would override the ini
        # no job runner: its seven huey consumers serve GenAI jobs genstudy does not use, cost seconds of CPU at
        # start and keep a folder in /dev/shm
        env.update(MLFLOW_AUTH_CONFIG_PATH=str(ini), MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16),
                   MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        server_log = tmp_path / "mlflow-server.log"
        log = open(server_log, "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
             "--backend-store-uri", server.database_uri, "--host", HOST, "--port", str(http_port),
             "--artifacts-destination", str(server.artifacts), "--workers", str(workers)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # its own group: workers go too
        server.mlflow_pid = proc.pid
        _wait_healthy(server.uri, proc, server_log)
        server.started |= server.processes()
        yield server
    finally:
        server.started |= server.processes()
        if proc is not None:
            _stop_group(proc)
        if log is not None:
            log.close()
        _stop_postgres(bindir, data, server.postmaster_pid)
        if pg_log.is_file():
            shutil.copy(pg_log, tmp_path / "postgres.log")
        shutil.rmtree(cluster, ignore_errors=True)


@contextmanager
def team_server_or_skip(tmp_path: Path, workers: int = 1) -> Iterator[TeamServer]:
    """``team_server`` for a pytest fixture: skips the test, with the reason, when PostgreSQL is not installed, and
    fails it when a process of the set-up outlives the stop."""
    import pytest

    if postgres_bin() is None:
        pytest.skip(MISSING)
    with team_server(tmp_path, workers) as server:
        yield server
    left = server.leftover()
    assert not left, f"processes of the team set-up still alive after it stopped: {sorted(left)}"


def _run_as_owner(cmd: list[str]) -> None:
    """Run a PostgreSQL program as the cluster's owner: ``postgres`` under root, else this user."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{(p.stdout + p.stderr)[-2000:]}")


def _create_databases(sock: Path, port: int, password: str) -> None:
    """The login role MLflow uses (password, over TCP) and its two databases, made over the private socket."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=str(sock), port=port, user="postgres", dbname="postgres", autocommit=True,
                         connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(DB_USER),
                                                                       sql.Literal(password)))
        for db in (BACKEND_DB, AUTH_DB):
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(DB_USER)))


def _auth_ini(server: TeamServer, auth_db_uri: str) -> str:
    """basic_auth.ini (keys as in mlflow/server/auth/basic_auth.ini): the admin is created at the first start."""
    return ("[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = {auth_db_uri}\n"
            f"admin_username = {server.username}\n"
            f"admin_password = {server.password}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n")


def _wait_healthy(uri: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not answer /health within {START_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left of it after ``grace_s``: the leader can exit
    before its children (uvicorn's worker), so the wait is for every member of the group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _group_alive(proc.pid):
            proc.poll()  # reap the leader, else it stays a zombie of this process
            time.sleep(0.2)
        if not _group_alive(proc.pid):
            break
    proc.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    return any(state != "Z" and group == pgid for state, _, group in _proc_table().values())


def _stop_postgres(bindir: Path, data: Path, postmaster: int) -> None:
    """``pg_ctl stop -m fast``; if that fails, SIGQUIT then SIGKILL to the postmaster's own pid."""
    pid_file = data / "postmaster.pid"
    if not postmaster and pid_file.is_file():  # a start that failed after the postmaster came up
        postmaster = int(pid_file.read_text().splitlines()[0])
    if not postmaster:
        return
    try:
        _run_as_owner([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30"])
    except (RuntimeError, subprocess.TimeoutExpired):
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(postmaster, sig)
            except ProcessLookupError:
                break
            time.sleep(2)
    deadline = time.monotonic() + 10  # pg_ctl returns once the pid file is gone, a moment before the exit
    while time.monotonic() < deadline and _proc_table().get(postmaster, ("Z",))[0] != "Z":
        time.sleep(0.1)


def _proc_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent pid, process group) of every process (Linux /proc)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            table[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return table


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else f"({path} missing)"
