"""``make clean`` removes the build and never a result."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_keeps_results(tmp_path):
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    results = [tmp_path / "mlflow.db", tmp_path / "mlartifacts" / "1" / "model.safetensors",
               tmp_path / "exports" / "report.html"]
    build = [tmp_path / ".venv" / "bin" / "python", tmp_path / "genstudy.egg-info" / "PKG-INFO",
             tmp_path / "study" / "__pycache__" / "run.cpython-311.pyc"]
    for f in results + build:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    p = subprocess.run(["make", "-C", str(tmp_path), "clean"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert all(f.is_file() for f in results)
    assert not any(f.exists() for f in build)
