"""The ``genstudy`` command and the wheel ``pip install .`` builds: console script, package data, subcommands."""

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO, run_cli

SOURCES = ("genstudy", "record", "study", "search_spaces", "trainables", "analysis", "benchmarks")


def test_genstudy_list_is_study_run_list():
    p, q = run_cli("genstudy", "list"), run_cli("study.run", "--list")
    assert p.returncode == q.returncode == 0 and p.stdout == q.stdout and "vae_beta_sweep" in p.stdout


def test_genstudy_help_version_and_bad_command():
    p = run_cli("genstudy", "--help")
    assert p.returncode == 0 and "genstudy run STUDY" in p.stdout and "genstudy export STUDY" in p.stdout
    assert run_cli("genstudy").returncode == 2
    p = run_cli("genstudy", "--version")
    assert p.returncode == 0 and p.stdout.startswith("genstudy ")
    p = run_cli("genstudy", "train", "vae_beta_sweep")
    assert p.returncode == 2 and "unknown command 'train'; valid: run, list, export" in p.stderr


def test_subcommands_take_the_python_m_forms_options_under_their_own_names():
    p = run_cli("genstudy", "run", "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: genstudy run") and "--register NAME" in p.stdout
    p = run_cli("genstudy", "run", "no_such_study", "--print")
    assert p.returncode == 2 and "unknown study 'no_such_study'" in p.stderr
    p = run_cli("genstudy", "export", "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: genstudy export")
    p = run_cli("genstudy", "export", "vae_beta_sweep", "--top-k", "0")
    assert p.returncode == 2 and "--top-k must be >= 1" in p.stderr


def test_wheel_has_the_console_script_and_package_data(tmp_path):
    """What ``pip install .`` installs: every package, the notebook, and the ``genstudy`` entry point."""
    pytest.importorskip("setuptools", minversion="68")
    src = tmp_path / "src"
    for name in SOURCES:
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("genstudy-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"genstudy/cli.py", "study/run.py", "record/config_file.py", "trainables/vae_export.py",
            "analysis/notebooks/explore_study.ipynb", "search_spaces/vae.py"} <= names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[console_scripts]\ngenstudy = genstudy.cli:main" in entry_points
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
