"""Bad input that needs a service or a run to show: a tracking server that needs credentials (real
``mlflow server --app-name basic-auth``), TLS settings (a self-signed HTTPS server), ``--resume`` of a run that
finished (the session's shared smoke study), and a remote Ray cluster without the GPUs a trial asks for (a real Ray
head)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.bad_input_cli import (WALL_BOUND_S, Case, closed_port, drop_ray_tmpdir, one_line, ray_sessions, ray_tmpdir,
                                 run_case, running_runs)
from tests.conftest import new_sqlite, run_cli
from tests.mlflow_study import STUDY as SHARED_STUDY
from tests.mlflow_study import smoke_study


# --- a tracking server that needs credentials, TLS ----------------------------------------------------------
PASSWORD = "genstudy-test-password-7"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """``mlflow server --app-name basic-auth`` on 127.0.0.1 (admin / PASSWORD, others may read), stopped by its pid."""
    if importlib.util.find_spec("flask_wtf") is None:
        pytest.skip("mlflow[auth] is not installed (pip install 'mlflow[auth]')")
    folder = tmp_path_factory.mktemp("auth")
    ini = folder / "basic_auth.ini"  # keys: mlflow/server/auth/basic_auth.ini
    ini.write_text(f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{folder}/auth.db\n"
                   f"admin_username = admin\nadmin_password = {PASSWORD}\n"
                   "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    uri = f"http://127.0.0.1:{closed_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    log = open(folder / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth", "--workers", "1",
                               "--backend-store-uri", new_sqlite(folder, "server.db"), "--host", "127.0.0.1",
                               "--port", uri.rsplit(":", 1)[1]], stdout=log, stderr=subprocess.STDOUT,
                              env={**env, "MLFLOW_AUTH_CONFIG_PATH": str(ini),  # the auth app needs a CSRF key:
                                   "MLFLOW_FLASK_SERVER_SECRET_KEY": "genstudy-test-csrf-key"},
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (folder / "server.log").read_text()[-3000:]
            time.sleep(1)
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its own process group: uvicorn's worker goes with it
        try:
            server.wait(timeout=10)  # uvicorn may wait on a client it served: not for long
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.mark.parametrize("credentials,refused", [
    ({"MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": ""}, "none were sent"),
    ({"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": "wrong"},
     "it refused those of MLFLOW_TRACKING_USERNAME=admin"),
], ids=["none", "wrong"])
def test_a_server_that_needs_credentials_is_named_before_ray(auth_server, credentials, refused, tmp_path, mnist_root):
    case = Case(("vae_beta_sweep", "--tracking-uri", auth_server), "credentials", env=credentials)
    o = run_case(case, tmp_path / "case", tmp_path, mnist_root)
    assert o.code == 2, o.stderr[-3000:]
    line = one_line(o.stderr)
    assert "HTTP 401: it needs credentials" in line and refused in line, line
    assert "fix: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in line and "MLFLOW_TRACKING_TOKEN" in line
    assert o.ray_sessions == [] and o.seconds < WALL_BOUND_S, o.seconds


def test_the_right_credentials_pass_preflight(auth_server, monkeypatch):
    from record import store
    from record.errors import UsageError

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    store.preflight(auth_server)  # sends them as MLflow's client does: basic auth
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD + "x")
    with pytest.raises(UsageError, match="credentials"):
        store.preflight(auth_server)


@pytest.fixture
def https_server(tmp_path):
    """A plain HTTPS server on 127.0.0.1 with a self-signed certificate (not an MLflow server): (URL, cert file)."""
    import http.server
    import ssl
    import threading

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_tls_settings_are_the_ones_mlflow_reads(https_server, monkeypatch):
    from record import store
    from record.errors import UsageError

    uri, cert = https_server
    for key in ("MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_SERVER_CERT_PATH"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(UsageError, match="TLS verification failed; fix: set MLFLOW_TRACKING_SERVER_CERT_PATH"):
        store.preflight(uri)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))  # trusted now: it answers, and is no MLflow
    with pytest.raises(UsageError, match="answered HTTP 501: not an MLflow server"):
        store.preflight(uri)
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    with pytest.raises(UsageError, match="INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set"):
        store.preflight(uri)
    monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
    with pytest.raises(UsageError, match="answered HTTP 501"):  # verification off
        store.preflight(uri)


# --- runs that start Ray ------------------------------------------------------------------------------------
def _smoke_args(folder: Path, mnist_root: Path) -> list[str]:
    return ["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri",
            f"sqlite:///{folder}/m.db", "--storage-path", str(folder / "ray")]


@pytest.mark.e2e
def test_resume_of_a_finished_run_says_so_and_publishes_nothing_again(shared_base, mnist_root):
    """On the session's shared smoke study (tests/mlflow_study.py: finished, its best model published and
    registered), which the resume must leave as it is."""
    from mlflow.tracking import MlflowClient

    from record import schema as S

    study = smoke_study(shared_base, mnist_root)
    assert study.code == 0, study.stdout[-2000:] + study.stderr[-2000:]
    client = MlflowClient(study.uri)
    exp_id = client.get_experiment_by_name(SHARED_STUDY).experiment_id
    (parent,) = client.search_runs([exp_id], filter_string=f"tags.{S.ROLE} = '{S.ROLE_STUDY}'")
    best = parent.data.tags[S.BEST_RUN_ID]

    def models() -> int:
        return len(client.search_logged_models([exp_id], filter_string=f"source_run_id = '{best}'"))

    assert models() == 1
    raytmp = ray_tmpdir()
    start = time.monotonic()
    try:
        p = run_cli("study.run", SHARED_STUDY, "--resume", "--storage-path", str(study.folder / "ray"),
                    env={"RAY_TMPDIR": str(raytmp)}, timeout=120)
        seconds, sessions = time.monotonic() - start, ray_sessions(raytmp)
    finally:
        drop_ray_tmpdir(raytmp)
    assert p.returncode == 0, p.stderr[-3000:]
    assert models() == 1  # no second model on the best run (before, a resumed finished run published again)
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"
    line = one_line(p.stderr)
    assert f"{SHARED_STUDY}: that run finished" in line and "nothing to resume" in line and "without --resume" in line
    assert sessions == [] and seconds < WALL_BOUND_S, seconds


HEAD_IP = "127.0.0.2"  # a loopback address Ray keeps (tests/cluster.py)
MLFLOW_DB_SETUP = "INFO mlflow.store.db.utils:"  # MLflow's "Creating initial MLflow database tables..." and the next


@pytest.mark.e2e
def test_a_remote_cluster_without_gpus_is_refused_before_any_tuner(tmp_path, mnist_root):
    from tests.cluster import RAY_ENV, free_port, stop_processes_under

    port = free_port(HEAD_IP)
    temp_dir = tempfile.mkdtemp(prefix="gs-ray-", dir="/tmp")  # short: Ray's socket paths stay under 107 characters
    try:
        subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", f"--port={port}",
                        f"--node-ip-address={HEAD_IP}", "--include-dashboard=false", "--num-cpus=1", "--num-gpus=0",
                        "--disable-usage-stats", f"--temp-dir={temp_dir}"], env=RAY_ENV, check=True,
                       capture_output=True, timeout=180)
        start = time.monotonic()
        p = run_cli("study.run", *_smoke_args(tmp_path, mnist_root), "--address", f"{HEAD_IP}:{port}",
                    "--gpus-per-trial", "1", env={"RAY_AUTH_MODE": "disabled"}, timeout=180)
        seconds = time.monotonic() - start
    finally:
        stop_processes_under(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert p.returncode == 2, p.stderr[-3000:]
    # the check runs after ray.init, and study.run opens the MLflow record while Ray connects: a new
    # database's two set-up lines from MLflow come first (docs/bad_input.md)
    line = one_line("\n".join(ln for ln in p.stderr.splitlines() if MLFLOW_DB_SETUP not in ln))
    assert "a trial asks for 1 GPU and the Ray cluster has 0; fix: lower --gpus-per-trial" in line, line
    assert running_runs(tmp_path / "m.db") == 0
    with sqlite3.connect(tmp_path / "m.db") as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("KILLED",)]  # the parent, and no trial
    print(f"remote-cluster GPU check: exit 2 after {seconds:.1f} s")
