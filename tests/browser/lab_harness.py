"""JupyterLab server and browser helpers for the browser test (see ``conftest.py`` for the knobs)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = Path(os.environ.get("LESSONLIB_NOTEBOOK_DIR", REPO / "notebooks")).resolve()
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", REPO / "test-artifacts")).resolve()
SCREENSHOTS = ARTIFACTS / "screenshots"
SERVER_LOG = ARTIFACTS / "jupyterlab-server.log"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# User settings written into a private settings dir: no news/update pop-ups (they would reach the
# network), no autosave (the served copy must stay as it was), every cell kept in the DOM so the
# assertions see all outputs (JupyterLab 4 virtualises long notebooks by default).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def notebooks() -> list[Path]:
    """Every ``NN_*.ipynb`` in the notebook folder, sorted, filtered by the ``NB`` prefix if set."""
    prefix = os.environ.get("NB", "")
    return sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb") if p.name.startswith(prefix))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(n_chars: int = 6000) -> str:
    """The end of the JupyterLab server log (kernel tracebacks end up here)."""
    try:
        return SERVER_LOG.read_text(errors="replace")[-n_chars:]
    except OSError:
        return "(no server log)"


class LabServer:
    """A JupyterLab server started on a random free port with a random token, serving a copy of the
    repository's notebooks (so nothing the browser does can touch the real files)."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def api(self, method: str, path: str, timeout: float = 10.0):
        req = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def start(self, timeout: float = 120.0) -> None:
        cfg = self.root.parent / "jupyter"
        settings = cfg / "lab-settings"
        for rel, content in LAB_SETTINGS.items():
            f = settings / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(content))
        env = dict(os.environ)
        env.pop("LESSONLIB_STATIC", None)  # live widgets: the whole point of this test
        env["LESSONLIB_PRACTICE_RECORD"] = "0"  # a test run never writes into the user's practice record
        env.update(
            JUPYTER_CONFIG_DIR=str(cfg / "config"),
            JUPYTER_DATA_DIR=str(cfg / "data"),
            JUPYTER_RUNTIME_DIR=str(cfg / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(cfg / "workspaces"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("MPLBACKEND", None)
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            "--allow-root",  # CI runs as root
            "--LabApp.extension_manager=readonly",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self._log = open(SERVER_LOG, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}:\n{log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.base} within {timeout:.0f} s:\n{log_tail()}")

    def shutdown_kernels(self) -> None:
        """Delete every session (and its kernel) so notebooks do not compete for the CPU."""
        try:
            for session in self.api("GET", "/api/sessions") or []:
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
        except (urllib.error.URLError, OSError):
            pass

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.shutdown_kernels()
            pgid = os.getpgid(self.proc.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=15)
            # Kernels live in the same process group; make sure none is left behind.
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None


# Probe notebooks, written next to the course's copies, prove the harness itself on every run: one has
# a live explorer (so "renders and reacts" is exercised even before a course notebook has one); one
# has an explorer whose figure never changes and one raises (so the test is shown to fail on each).
# None lives in notebooks/.
_PROBE_DRAW = """import matplotlib.pyplot as plt
import torch

from lessonlib.widgets import explorer


def draw(frequency, shape):
    t = torch.linspace(0, 1, 200)
    y = torch.sin(2 * torch.pi * frequency * t)
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot(t, y.sign() if shape == "square" else y)
    ax.set(title=f"{shape} at {frequency} Hz", xlabel="time (s)")
    return fig
"""
PROBES: dict[str, list[str]] = {
    "probe_explorer": [
        _PROBE_DRAW,
        'explorer(draw, {"frequency": (1, 5, 1), "shape": ["sine", "square"]}, title="harness probe");',
    ],
    "probe_frozen": [  # an explorer whose figure ignores its controls: "reacts" must fail
        _PROBE_DRAW,
        'explorer(lambda frequency: draw(1, "sine"), {"frequency": (1, 5, 1)});',
    ],
    "probe_error": [
        _PROBE_DRAW,
        'explorer(draw, {"frequency": (1, 5, 1), "shape": ["sine", "square"]});',
        'raise ValueError("probe: this error output must fail the browser test")',
    ],
}


def _write_probe(path: Path, sources: list[str]) -> None:
    cells = [
        {"cell_type": "code", "execution_count": None, "id": f"probe-{i}", "metadata": {}, "outputs": [], "source": s}
        for i, s in enumerate(sources)
    ]
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))


def served_copy(tmp: Path) -> Path:
    """A folder that looks like the repository (symlinks) but holds a private copy of the notebooks,
    plus the probe notebooks in ``probes/``."""
    root = tmp / "course"
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name in {"notebooks", ".git", ".venv", "test-artifacts", "probes"}:
            continue
        (root / entry.name).symlink_to(entry)
    (root / "notebooks").mkdir()
    for nb in notebooks():
        shutil.copy2(nb, root / "notebooks" / nb.name)
    (root / "probes").mkdir()
    for name, sources in PROBES.items():
        _write_probe(root / "probes" / f"{name}.ipynb", sources)
    return root
