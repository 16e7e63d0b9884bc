"""Run a notebook the way Colab does: outside the repository, in an environment that has only what Colab
ships (torch, torchvision, numpy, matplotlib, ipywidgets 7, a kernel) plus what the notebook's first cell
installs (``make test-colab``; ``NB=04`` by default).

Steps: make a fresh virtual environment (no system packages, not this checkout's .venv), install the
Colab-like set into it, copy the notebook into an empty folder outside the repository, and execute it
there with nbclient. The notebook's first cell finds no ``lessonlib`` and pip-installs it; the
``LESSONLIB_SOURCE`` variable points that install at this checkout instead of GitHub (the one thing a
machine without internet access cannot do as Colab would). Fails if any cell raises or stores an
error output. No ``LESSONLIB_STATIC``: the kernel is a live one, so explorers build real ipywidgets 7
controls, as in Colab.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a Colab runtime has before the notebook runs (the versions of torch that constraints.txt pins,
# the ipywidgets major version Colab ships).
COLAB_LIKE = ["ipywidgets>=7.7,<8", "ipykernel", "nbclient", "nbformat", "matplotlib", "numpy"]

RUNNER = r"""
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
nbformat.write(nb, sys.argv[1])
print(f"{len(nb.cells)} cells executed, {len(errors)} error outputs")
sys.exit(1 if errors else 0)
"""


def _torch_pins() -> list[str]:
    return [line.strip() for line in (REPO / "constraints.txt").read_text().splitlines() if line.startswith("torch")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nb", default="04", help="notebook number prefix (default 04) or a notebook file")
    parser.add_argument("--keep", type=Path, help="keep the environment and the executed notebook here")
    args = parser.parse_args()
    given = Path(args.nb)
    matches = [given] if given.suffix == ".ipynb" else sorted((REPO / "notebooks").glob(f"{args.nb}*.ipynb"))
    if len(matches) != 1:
        parser.error(f"--nb {args.nb} matches {len(matches)} notebooks")
    root = args.keep or Path(tempfile.mkdtemp(prefix="colab-sim-"))
    venv, work = root / "venv", root / "content"  # Colab's working folder is /content
    work.mkdir(parents=True, exist_ok=True)
    start = time.time()
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *_torch_pins(), *COLAB_LIKE], check=True)
    print(f"Colab-like environment ready in {time.time() - start:.0f} s")
    notebook = work / matches[0].name
    shutil.copy(matches[0], notebook)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "LESSONLIB_STATIC", "VIRTUAL_ENV"}}
    env["LESSONLIB_SOURCE"] = str(REPO)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    check = subprocess.run([str(python), "-c", "import lessonlib"], cwd=work, env=env, capture_output=True)
    if check.returncode == 0:
        print("lessonlib is importable before the first cell ran: the simulation would prove nothing")
        return 1
    run = subprocess.run([str(python), "-c", RUNNER, str(notebook), str(work)], cwd=work, env=env)
    widgets = subprocess.run(
        [str(python), "-c", "import ipywidgets; print(ipywidgets.__version__)"], env=env, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"{matches[0].name} in the Colab-like environment (ipywidgets {widgets}): rc={run.returncode}, "
        f"{time.time() - start:.0f} s in all; executed copy at {notebook}"
    )
    if not args.keep:
        shutil.rmtree(root / "venv", ignore_errors=True)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
