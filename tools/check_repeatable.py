"""Run every notebook several times with the network off; checked numbers must agree every time.

An instructor re-runs a notebook in front of a class and needs the same numbers, possibly with no
network. This script executes each ``notebooks/NN_*.ipynb`` ``--runs`` times (default 3) in a fresh
kernel each time, with ``LESSONLIB_STATIC=1`` and ``PYTHONHASHSEED=0`` as ``make test`` uses, and
compares the outputs of every cell whose first line is ``# NBVAL_CHECK_OUTPUT``:

* between the runs (any difference is a flake and fails: one machine must repeat itself exactly), and
* with the outputs stored in the notebook (what nbval checks; ``--no-stored`` skips this), exactly or
  within the ``# tolerance ±x`` a cell declares for trained-model numbers (``tools/checked_output.py``).

A run that raises fails too. Outputs are compared the way nbval does: streams merged per name with
``\\r`` progress lines resolved, every mime type except images and widget views.

Offline modes (``--offline``):
    unshare  re-run this script inside a new, empty network namespace (``unshare -n`` as root,
             ``unshare -rn`` where user namespaces are allowed). Only a down loopback device exists
             there, so the kernel talks to this process over IPC sockets instead of TCP; nothing can
             reach the network.
    guard    an IPython startup file in the kernel makes every non-loopback ``connect`` and every
             DNS lookup raise (for machines where ``unshare`` is not allowed).
    auto     ``unshare`` when it works here, else ``guard`` (the default).
    none     network left as it is.

Usage: ``python tools/check_repeatable.py [--runs 3] [--offline auto] [notebooks ...]``
(``make test-repeat``). Exit status 0 only when every run of every notebook succeeded and agreed.
It writes a JSON summary to ``test-artifacts/repeatability.json``.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from lessonlib.dev import notebook_files
from lessonlib.dev.checked_output import CHECK_MARK, agree, is_checked, tolerance_of  # noqa: F401 (re-exported)
from lessonlib.dev.notebook_files import REPO

IN_NETNS_ENV = "_LESSONLIB_IN_NETNS"
SKIP_MIME = {"image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json"}
_CR = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)
_BACKSPACE = re.compile("[^\\n]\\x08")  # a character erased by a backspace

GUARD_STARTUP = """
# Installed by tools/check_repeatable.py --offline guard: the notebook must not use the network.
import socket as _socket

_real_connect = _socket.socket.connect
_real_connect_ex = _socket.socket.connect_ex
_real_getaddrinfo = _socket.getaddrinfo


def _is_local(address):
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = str(address[0])
    return host in ("localhost", "::1", "") or host.startswith("127.")


def _refuse(what):
    raise OSError(f"network access refused by the offline check: {what}")


def _connect(self, address):
    if self.family != getattr(_socket, "AF_UNIX", None) and not _is_local(address):
        _refuse(f"connect {address!r}")
    return _real_connect(self, address)


def _connect_ex(self, address):
    if self.family != getattr(_socket, "AF_UNIX", None) and not _is_local(address):
        _refuse(f"connect_ex {address!r}")
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_local((host,)):
        _refuse(f"DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


_socket.socket.connect = _connect
_socket.socket.connect_ex = _connect_ex
_socket.getaddrinfo = _getaddrinfo
"""


def notebook_paths(args: list[str]) -> list[Path]:
    """The notebooks named on the command line, or every ``notebooks/NN_*.ipynb`` (sorted)."""
    try:
        return notebook_files.notebook_paths(args)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None


def unshare_prefix() -> list[str] | None:
    """The command prefix that runs a program in a new, empty network namespace here, or None.

    ``unshare -n`` works as root; ``unshare -rn`` (map the user to root in a new user namespace)
    works for an ordinary user where the kernel allows user namespaces.
    """
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=20).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


def unshare_works() -> bool:
    """True when a new network namespace can be created here (see ``unshare_prefix``)."""
    return unshare_prefix() is not None


def only_loopback() -> bool:
    """True inside an empty network namespace: the only interface is ``lo``."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def comparable(outputs: list[dict]) -> list[str]:
    """Outputs reduced to what nbval compares: merged streams per name, non-image data as text."""
    streams: dict[str, str] = {}
    items: list[tuple[str, str]] = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            name = out.get("name", "stdout")
            if name not in streams:
                items.append(("stream", name))
                streams[name] = ""
            streams[name] += _text(out.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            for mime, value in sorted(out.get("data", {}).items()):
                if mime not in SKIP_MIME:
                    items.append((mime, _text(value)))
        elif kind == "error":
            items.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
    result = []
    for key, value in items:
        if key == "stream":
            text = streams[value]
            old = None
            while old != text:
                old, text = text, _BACKSPACE.sub("", text)
            result.append(f"[{value}]\n{_CR.sub('', text)}")
        else:
            result.append(f"[{key}]\n{value}")
    return result


def checked_outputs(nb) -> dict[int, list[str]]:
    """``{cell index: comparable outputs}`` for every code cell marked ``# NBVAL_CHECK_OUTPUT``."""
    return {
        i: comparable(cell.get("outputs", []))
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and is_checked(_source(cell))
    }


def checked_tolerances(nb) -> dict[int, float]:
    """``{cell index: tolerance}`` for every checked cell (0.0 = exact; see ``tools/checked_output.py``)."""
    return {
        i: tolerance_of(_source(cell))
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and is_checked(_source(cell))
    }


def agrees_with_stored(stored: list[str] | None, new: list[str], tolerance: float) -> bool:
    """True when every comparable output of a run agrees with the stored one within ``tolerance``."""
    if stored is None or len(stored) != len(new):
        return False
    return all(agree(a, b, tolerance) for a, b in zip(stored, new, strict=True))


def errors_of(nb) -> list[str]:
    return [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def sources_fingerprint(path: Path) -> str:
    """SHA-256 over the notebook file and every ``lessonlib`` source file: what one run depends on.

    If it changes while a notebook is being checked, someone edited the code between runs, and a
    difference between runs says nothing about repeatability.
    """
    digest = hashlib.sha256(path.read_bytes())
    for src in sorted((REPO / "lessonlib").rglob("*.py")):
        digest.update(str(src.relative_to(REPO)).encode())
        digest.update(src.read_bytes())
    return digest.hexdigest()


def execute_once(path: Path, source, timeout: int, workdir: Path) -> tuple[object | None, str | None, float, float]:
    """Execute a copy of the notebook ``source`` (read from ``path``) in a fresh kernel started in
    ``path``'s folder. Returns (executed notebook, error or None, wall s, kernel CPU s)."""
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    nb = copy.deepcopy(source)
    # IPC transport: works inside an empty network namespace and leaves no TCP port open.
    km = KernelManager(
        kernel_name="python3", transport="ipc", connection_file=str(workdir / f"kernel-{uuid.uuid4().hex}.json")
    )
    client = NotebookClient(
        nb, km=km, timeout=timeout, allow_errors=False, resources={"metadata": {"path": str(path.parent)}}
    )
    t0 = time.perf_counter()
    error = None
    cpu = float("nan")
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, the loop goes on
        lines = str(exc).strip().splitlines()
        error = "; ".join(errors_of(nb)) or f"{type(exc).__name__}: {lines[-1] if lines else ''}"
    finally:
        wall = time.perf_counter() - t0
        cpu = _kernel_cpu_seconds(km)
        # We own the kernel manager, so nbclient leaves the kernel running: shut it down here.
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=False)
    return nb, error, wall, cpu


def _kernel_cpu_seconds(km) -> float:
    """User + system CPU seconds of the kernel process (and its waited-for children), from /proc."""
    try:
        pid = km.provisioner.process.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return float("nan")


def _diff(a: list[str], b: list[str], label_a: str, label_b: str) -> str:
    lines = difflib.unified_diff(
        "\n".join(a).splitlines(), "\n".join(b).splitlines(), label_a, label_b, lineterm="", n=1
    )
    return "\n".join(list(lines)[:40])


def check_notebook(path: Path, runs: int, timeout: int, compare_stored: bool, workdir: Path) -> dict:
    import nbformat

    fingerprint = sources_fingerprint(path)
    source = nbformat.read(path, as_version=4)  # every run executes this same text
    stored = checked_outputs(source)
    tolerances = checked_tolerances(source)
    record: dict = {"notebook": path.name, "runs": [], "failures": [], "checked_cells": len(stored)}
    results: list[dict[int, list[str]]] = []
    for r in range(runs):
        nb, error, wall, cpu = execute_once(path, source, timeout, workdir)
        record["runs"].append({"wall_s": round(wall, 1), "kernel_cpu_s": round(cpu, 1), "error": error})
        status = f"  ERROR {error}" if error else ""
        print(f"  run {r + 1}/{runs}: {wall:6.1f} s wall, {cpu:6.1f} s kernel CPU{status}")
        sys.stdout.flush()
        if error:
            record["failures"].append(f"run {r + 1} failed: {error}")
            continue
        results.append(checked_outputs(nb))
    for r, res in enumerate(results[1:], start=2):
        for cell, outs in res.items():
            if outs != results[0].get(cell):
                record["failures"].append(
                    f"cell {cell} differs between runs (flake):\n"
                    + _diff(results[0].get(cell, []), outs, "first run", f"run {r}")
                )
    if sources_fingerprint(path) != fingerprint:
        record["failures"].insert(
            0,
            "the notebook or lessonlib/ was edited while this notebook was being checked: differences below "
            "may come from the edit, not from a flake; check again when nobody is editing",
        )
    if compare_stored and results:
        for cell, outs in results[0].items():
            if not agrees_with_stored(stored.get(cell), outs, tolerances[cell]):
                within = f" (beyond its tolerance ±{tolerances[cell]:g})" if tolerances[cell] else ""
                record["failures"].append(
                    f"cell {cell} differs from the stored output{within}:\n"
                    + _diff(stored.get(cell, []), outs, "stored", "this run")
                )
    return record


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to check (default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--runs", type=int, default=3, help="executions per notebook (default 3)")
    parser.add_argument("--offline", choices=["auto", "unshare", "guard", "none"], default="auto")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--no-stored", action="store_true", help="do not compare with the stored outputs")
    parser.add_argument("--json", default=str(REPO / "test-artifacts" / "repeatability.json"))
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")

    mode = args.offline
    if mode == "auto":
        mode = "unshare" if (os.environ.get(IN_NETNS_ENV) == "1" or unshare_works()) else "guard"
    if mode == "unshare" and os.environ.get(IN_NETNS_ENV) != "1":
        forwarded = ["--offline", "unshare", "--runs", str(args.runs), "--timeout", str(args.timeout)]
        forwarded += ["--json", str(Path(args.json).resolve())] + (["--no-stored"] if args.no_stored else [])
        forwarded += [str(Path(p).resolve()) for p in args.notebooks]
        prefix = unshare_prefix()
        if prefix is None:
            print("offline check: `unshare -n` is not allowed here; use --offline guard", file=sys.stderr)
            return 2
        cmd = [*prefix, "--", sys.executable, str(Path(__file__).resolve()), *forwarded]
        return subprocess.call(cmd, env={**os.environ, IN_NETNS_ENV: "1"})
    if mode == "unshare" and not only_loopback():
        print("offline check: expected only the loopback interface inside the namespace", file=sys.stderr)
        return 2

    paths = notebook_paths(args.notebooks)
    if not paths:
        print("no notebooks to check")
        return 0
    os.environ["LESSONLIB_STATIC"] = "1"
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.pop("MPLBACKEND", None)
    with tempfile.TemporaryDirectory(prefix="repeatable-") as tmp:
        workdir = Path(tmp)
        if mode == "guard":
            startup = workdir / "ipython" / "profile_default" / "startup"
            startup.mkdir(parents=True)
            (startup / "00-offline-guard.py").write_text(GUARD_STARTUP)
            os.environ["IPYTHONDIR"] = str(workdir / "ipython")
        print(f"offline mode: {mode}; {args.runs} runs per notebook; {len(paths)} notebooks")
        records = []
        t0 = time.perf_counter()
        for path in paths:
            print(f"{path.name}")
            records.append(check_notebook(path, args.runs, args.timeout, not args.no_stored, workdir))
            for failure in records[-1]["failures"]:
                print("  FAIL " + failure.replace("\n", "\n       "))
    total = time.perf_counter() - t0

    print(f"\n{'notebook':40s} {'checked':>7s} " + " ".join(f"{'run ' + str(r + 1):>8s}" for r in range(args.runs)))
    for rec in records:
        walls = " ".join(f"{r['wall_s']:7.1f}s" for r in rec["runs"])
        status = "ok" if not rec["failures"] else f"FAILED ({len(rec['failures'])})"
        print(f"{rec['notebook']:40s} {rec['checked_cells']:7d} {walls}  {status}")
    n_failed = sum(bool(rec["failures"]) for rec in records)
    print(f"total {total:.0f} s, network: {mode}")
    print(f"{len(records) - n_failed} passed, {n_failed} failed")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"offline": mode, "runs": args.runs, "total_s": round(total, 1), "notebooks": records}
    out.write_text(json.dumps(summary, indent=1))
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
