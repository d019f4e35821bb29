"""Shared helpers of the CSI-CLIP tests (the loopback Hub comes from the root conftest)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine's cores are shared: one intra-op thread keeps the small models fast and steady."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
