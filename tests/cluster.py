"""Real processes on loopback for the cluster tests: a Ray head and worker node, an MLflow server.

Ray turns 127.0.0.1 into the machine's network address; other loopback addresses (127.0.0.2,
127.0.0.3) are kept, so both nodes and all their traffic stay on loopback. Token authentication
is off for this local test cluster only (RAY_AUTH_MODE=disabled).

Both nodes keep their files in a temporary directory of their own (``--temp-dir``), and stopping the
cluster stops only the processes under it: ``ray stop`` would stop every Ray process on the machine,
including a developer's own studies running beside the tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.conftest import SCHEMA_ENV, new_sqlite

BIN = Path(sys.executable).parent
HEAD_IP, NODE_IP = "127.0.0.2", "127.0.0.3"
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
# after SIGTERM the raylets took 10 s to exit and the GCS more than 15 (measured); a throwaway cluster whose folder
# is deleted next needs no graceful stop (SIGKILL after 3 s left nothing in /dev/shm)
STOP_GRACE_S = 3.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class RayCluster:
    """``ray start --head`` plus one ``ray start --address`` node, one CPU each."""

    def __init__(self, tmp: Path):
        self.port = free_port(HEAD_IP)
        self.address = f"{HEAD_IP}:{self.port}"
        self.tmp = tmp
        # short: Ray's socket paths under it must stay within the 107-character limit of a Unix socket
        self.temp_dir = tempfile.mkdtemp(prefix="gs-ray-", dir="/tmp")

    def __enter__(self) -> "RayCluster":
        ray = str(BIN / "ray")
        common = ["--num-cpus=1", "--disable-usage-stats", f"--temp-dir={self.temp_dir}"]
        subprocess.run([ray, "start", "--head", f"--port={self.port}", f"--node-ip-address={HEAD_IP}",
                        "--include-dashboard=false", *common], env=RAY_ENV, check=True, capture_output=True,
                       timeout=120)
        subprocess.run([ray, "start", f"--address={self.address}", f"--node-ip-address={NODE_IP}", *common],
                       env=RAY_ENV, check=True, capture_output=True, timeout=120)
        return self

    def __exit__(self, *exc) -> None:
        stop_processes_under(self.temp_dir, grace_s=STOP_GRACE_S)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def kill_worker_node(self) -> list[int]:
        """SIGKILL the worker node (its raylet and agents, found by ``--node_ip_address``, and every process
        they started: the trial workers running there), as a machine that dies would; returns their pids."""
        table = _processes()
        doomed = {pid for pid, (_, cmd) in table.items()
                  if self.temp_dir in cmd and f"--node_ip_address={NODE_IP}" in cmd}
        grew = True
        while grew:
            children = {pid for pid, (ppid, _) in table.items() if ppid in doomed} - doomed - {os.getpid()}
            grew = bool(children)
            doomed |= children
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return sorted(doomed)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process this user can read (Linux /proc)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # exited meanwhile
            table[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return table


def stop_processes_under(temp_dir: str, grace_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``, every process whose command line names ``temp_dir`` (Ray's
    GCS, raylets and agents) and all their descendants (workers retitle themselves ``ray::…``)."""
    table = _processes()
    doomed = {pid for pid, (_, cmd) in table.items() if temp_dir in cmd and pid != os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in table.items() if ppid in doomed} - doomed - {os.getpid()}
        grew = bool(children)
        doomed |= children
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in doomed:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + grace_s
        while sig == signal.SIGTERM and time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in doomed):
            time.sleep(0.2)


class MlflowServer:
    """``mlflow server`` on 127.0.0.1 with a SQLite backend and a local artifact root; :meth:`stop` and
    :meth:`start` take it away and bring it back on the same port, with the same database."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None
        self.log = None

    def __enter__(self) -> "MlflowServer":
        return self.start()

    def _database(self) -> str:
        """The server's SQLite URI; a new one is a copy of the run's empty MLflow database under pytest
        (tests/conftest.py new_sqlite: MLflow's migrations are not what is tested), made by MLflow elsewhere."""
        db = self.tmp / "server.db"
        if db.exists() or SCHEMA_ENV not in os.environ:
            return f"sqlite:///{db}"
        return new_sqlite(self.tmp, db.name)

    def start(self) -> "MlflowServer":
        self.log = open(self.tmp / "mlflow-server.log", "a")
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no GenAI job runners: faster, fewer pids
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", self._database(),
             "--artifacts-destination", (self.tmp / "server-artifacts").as_uri(), "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.uri}/health", timeout=2).read()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mlflow server exited: {(self.tmp / 'mlflow-server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        raise TimeoutError("mlflow server did not come up in 120 s")

    def stop(self) -> None:
        """Stop the server's whole process group (its workers too), by its own pid."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        if self.log:
            self.log.close()
            self.log = None

    def __exit__(self, *exc) -> None:
        self.stop()


def has_ray_cli() -> bool:
    return shutil.which("ray", path=str(BIN)) is not None
