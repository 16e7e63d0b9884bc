"""Shared fixtures: a network guard so loaders are proven offline, a headless matplotlib, and the
Hypothesis profile.

The property tests are **derandomized** by default: each draws the same examples on every run, so
CI and `make test` give the same verdict three times in a row and a failure seen once can be rerun;
every property stays a real check (its examples are many and fixed, not few). To search new
examples, as a maintainer should before a release, use the random profile:

    HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/

(a random run is how `tta.view_disagreement`'s vote bound was found to be wrong).
"""

from __future__ import annotations

import os
import socket

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
