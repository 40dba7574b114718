"""The declared dependency bounds: the tested environment meets them, and pip resolves them on Python 3.11."""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
REQUIREMENTS = [Requirement(r) for r in PROJECT["dependencies"]]


def test_this_environment_meets_every_bound():
    assert Version(f"{sys.version_info.major}.{sys.version_info.minor}") in SpecifierSet(PROJECT["requires-python"])
    for req in REQUIREMENTS:
        assert req.specifier.contains(md.version(req.name), prereleases=True), (req, md.version(req.name))


def test_bounds_cover_the_apis_used():
    import optuna

    def lowest(name: str) -> Version:
        (req,) = [r for r in REQUIREMENTS if r.name == name]
        return min(Version(s.version) for s in req.specifier if s.operator in (">=", "=="))

    assert lowest("optuna") >= Version("5.0")  # trial.set_constraint arrived in Optuna 5.0
    assert hasattr(optuna.trial.Trial, "set_constraint")
    assert "3.10" not in SpecifierSet(PROJECT["requires-python"])  # pandas, numpy, scikit-learn resolve for 3.11+
    for name in ("optuna", "ray", "mlflow"):  # what moves fast carries an upper bound
        (req,) = [r for r in REQUIREMENTS if r.name == name]
        assert any(s.operator == "<" for s in req.specifier), req


@pytest.mark.e2e
def test_pip_resolves_the_bounds_on_python_311(tmp_path):
    """``pip install .`` on Python 3.11, dry run: needs a package index (minutes)."""
    python = shutil.which("python3.11") or (sys.executable if sys.version_info[:2] == (3, 11) else None)
    if python is None:
        pytest.skip("no Python 3.11 here")
    subprocess.run([python, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    report = tmp_path / "report.json"
    p = subprocess.run([str(tmp_path / "venv" / "bin" / "pip"), "install", "--dry-run", "--quiet", "--report",
                        str(report), str(REPO)], capture_output=True, text=True, timeout=1500)
    if p.returncode != 0 and any(s in p.stderr for s in ("NewConnectionError", "Could not fetch URL",
                                                          "Temporary failure in name resolution")):
        pytest.skip("no package index reachable: " + p.stderr.strip().splitlines()[-1])
    assert p.returncode == 0, p.stderr[-3000:]
    chosen = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    for req in REQUIREMENTS:
        assert req.specifier.contains(chosen[req.name.lower()], prereleases=True), (req, chosen[req.name.lower()])
