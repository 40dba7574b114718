"""``analysis/notebooks/explore_study.ipynb`` executes headless against a smoke study and draws its figures."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.analysis_study import smoke_export
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
NOTEBOOK = REPO / "analysis" / "notebooks" / "explore_study.ipynb"


@pytest.fixture(scope="module")
def smoke(shared_base, mnist_root):
    s = smoke_export(shared_base, "vae_beta_sweep", mnist_root)
    assert s.study_code == 0, s.log
    return s


def test_notebook_executes_and_draws_the_main_figures(smoke, monkeypatch):
    monkeypatch.setenv("GENSTUDY_STUDY", smoke.study)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", smoke.uri)
    monkeypatch.delenv("GENSTUDY_PARENT_RUN", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 7  # 5 study figures, the metric curves, rate-distortion and the best trial's curves
    text = "".join(o.get("text", "") for o in outputs)
    assert "vae_beta_sweep (vae): parent run" in text
