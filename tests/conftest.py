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


def pytest_configure(config):
    """Readouts trained once (the factor predictor) go to a folder of this session, never the user's cache, and
    are shared by the tests (and their subprocesses) as they are by a user's runs."""
    import os
    import tempfile
    os.environ["DISENTANGLE_CACHE"] = config._disentangle_cache = tempfile.mkdtemp(prefix="disentangle-cache-")


def pytest_unconfigure(config):
    import shutil
    shutil.rmtree(getattr(config, "_disentangle_cache", ""), ignore_errors=True)
