"""Acceptance 1: ``mlflow ui`` over a smoke study's database, in real headless Chromium. The link the study prints
opens the experiment's runs (model training, not the GenAI overview) with every trial as a row and the study
metric as a column. ``GENSTUDY_UI_SCREENSHOTS=docs`` also writes the screenshots docs/mlflow.md shows."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from study import mlflow_ui
from tests import chromium
from tests.mlflow_study import REGISTERED, STUDY, smoke_study

pytestmark = pytest.mark.e2e
CLOSE_ASSISTANT = ("(() => { const b = document.querySelector("
                   "'[data-component-id=\"mlflow.assistant.chat_panel.close\"]'); if (b) b.click(); return true; })()")
TEXT = "document.body.innerText"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui(shared_base, mnist_root):
    if not chromium.available():
        pytest.skip(f"{chromium.CHROMIUM} is missing; install it with scripts/install_chromium.sh")
    s = smoke_study(shared_base, mnist_root)
    assert s.code == 0, s.stdout[-3000:] + s.stderr[-3000:]
    port = _free_port()
    log = open(s.folder / "mlflow_ui.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1", "--backend-store-uri", s.uri], stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own process group: uvicorn's worker goes with it
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (s.folder / "mlflow_ui.log").read_text()
            time.sleep(1)
        client = MlflowClient(s.uri)
        exp = client.get_experiment_by_name(STUDY)
        runs = client.search_runs([exp.experiment_id])
        parent = next(r for r in runs if r.data.tags.get("role") == "study")
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        yield base, s, exp.experiment_id, parent, children
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _keep(path: Path) -> None:
    """Copy a screenshot into $GENSTUDY_UI_SCREENSHOTS (docs/) when it is set."""
    folder = os.environ.get("GENSTUDY_UI_SCREENSHOTS")
    if folder:
        shutil.copy(path, Path(folder) / path.name)


def test_printed_link_opens_the_trials_with_the_study_metric(ui, tmp_path):
    base, s, exp_id, parent, children = ui
    link = mlflow_ui.runs_link(exp_id, base)
    assert mlflow_ui.runs_link(exp_id) in s.stdout  # the link the study printed, for the default port
    best = next(c for c in children if c.info.run_id == parent.data.tags["best_run_id"])
    with chromium.tab(timeout=120) as t:
        t.goto(link)
        t.wait_for(f"{TEXT}.includes({json.dumps(best.info.run_name)}) && {TEXT}.includes('best_val_nelbo')",
                   "the trials table", timeout=120)
        t.evaluate(CLOSE_ASSISTANT)
        time.sleep(2)  # the table takes the freed width
        text = t.evaluate(TEXT)
        route = t.evaluate("location.hash")
        shot = t.screenshot(tmp_path / "mlflow_trials.png")
    assert route.startswith(f"#/experiments/{exp_id}/runs?") and "overview" not in route
    assert "Model training" in text and "genstudy: trials by val_nelbo" in text
    for c in children:  # every trial is a row of its own, none hidden under a collapsed parent
        assert c.info.run_name in text, c.info.run_name
    assert parent.info.run_name not in text
    for header in ("best_val_nelbo", "val_nelbo", "test_nelbo", "Dataset", "Models", "Parameters", "arch"):
        assert header in text, header
    assert repr(best.data.metrics["best_val_nelbo"]) in text  # the study metric's value in its column
    assert "mnist (" in text and REGISTERED in text  # the Dataset and Models columns are filled
    assert shot.stat().st_size > 20_000
    _keep(shot)


def test_logged_model_page_shows_the_best_models_metrics(ui, tmp_path):
    base, _, exp_id, parent, children = ui
    best = next(c for c in children if c.info.run_id == parent.data.tags["best_run_id"])
    model_id = parent.data.tags["best_model_uri"].removeprefix("models:/")
    with chromium.tab(timeout=120) as t:
        t.goto(f"{base}/#/experiments/{exp_id}/models/{model_id}?workflowType=machine_learning")
        t.wait_for(f"{TEXT}.includes('test_nelbo') && {TEXT}.includes({json.dumps(model_id)})", "the model page",
                   timeout=120)
        t.evaluate(CLOSE_ASSISTANT)
        time.sleep(2)
        text = t.evaluate(TEXT)
        shot = t.screenshot(tmp_path / "mlflow_model.png")
    for expected in ("val_nelbo", "test_nelbo", best.info.run_name, REGISTERED, "Model versions"):
        assert expected in text, expected
    _keep(shot)
