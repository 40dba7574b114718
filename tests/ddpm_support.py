"""Shared by the DDPM test modules: one torch thread per test (the CI machine's two cores are shared;
more threads only contend, which slows small convolutions tenfold)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
