"""Shared fixtures."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: tiny tensors only contend with the other jobs, and measured
    numbers (tests/test_disentangles.py) are for one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
