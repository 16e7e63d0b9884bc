"""Shared fixtures: a network guard so loaders are proven offline, and a headless matplotlib."""

from __future__ import annotations

import socket

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails loudly inside the test."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need CUDA: where there is none they are reported as skipped, with the reason."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="gpu test: no CUDA device on this machine")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
