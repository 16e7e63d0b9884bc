"""tools/bench_table.py renders what ``make bench`` wrote, and ``benchmarks.__main__`` formats it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import format_table
from benchmarks._timing import PeakMemory, ratio
from tools import bench_table

REPO = Path(__file__).resolve().parents[1]

TIMES = {"ours": [0.010, 0.012, 0.011], "loop": [0.200, 0.180, 0.330], "tv": [0.010, 0.010, 0.010]}


def _payload() -> dict:
    rows = [
        ratio("ecg_beats", TIMES, "ours", "loop", at_least=15),  # 20, 15, 30 -> median 20x: met
        ratio("mixing", TIMES, "ours", "tv", at_most=1.1),  # 1.0, 1.2, 1.1 -> median 1.1: met
        ratio("mixing strict", TIMES, "ours", "tv", at_most=1.05),  # not met
    ]
    return {
        "measured_at": "2026-11-25 04:00 UTC",
        "machine": {"processor": "AMD EPYC", "cpu_count": 2, "torch_threads": 2, "torch": "2.14.1", "cuda": None},
        "repeats": 3,
        "results": [r.as_dict() for r in rows],
        "memory": [PeakMemory("tta_d4", "batch_size=None", 12.34, "cpu").as_dict()],
    }


def test_render_copies_the_numbers_and_names_missed_goals():
    md = bench_table.render(_payload())
    lines = md.splitlines()
    assert lines[0].startswith("Measured on AMD EPYC (2 cores, 2 torch threads, CPU only), torch 2.14.1, 3 interleaved")
    assert "| ecg_beats | ours vs loop | 20.00x | 15.00-30.00 | >= 15x faster | yes | 11 vs 200 |" in lines
    assert "| mixing | ours vs tv | 1.10x | 1.00-1.20 | <= 1.1x | yes | 11 vs 10 |" in lines
    assert "| mixing strict | ours vs tv | 1.10x | 1.00-1.20 | <= 1.05x | **no** | 11 vs 10 |" in lines
    assert lines[0].endswith("04:00 UTC.")
    assert "2 of 3 ratios meet their goal. Not met: mixing strict: ours vs tv." in lines
    payload = _payload()
    payload["machine"]["load_average"] = 7.5
    assert bench_table.render(payload).splitlines()[0].endswith("04:00 UTC. Load average 7.5 when the run started.")
    payload["machine"]["omp_wait_policy"] = "PASSIVE"  # it changes every multi-threaded timing: say it
    assert "(2 cores, 2 torch threads, OMP_WAIT_POLICY=PASSIVE, CPU only)" in bench_table.render(payload)
    assert "| tta_d4 | batch_size=None | 12.3 MiB | cpu |" in lines
    # every table row has as many cells as its header
    table = [line for line in lines if line.startswith("| ") and "MiB" not in line and "peak memory" not in line]
    assert len({line.count("|") for line in table}) == 1


def test_render_rejects_files_without_results_or_with_incomplete_rows():
    with pytest.raises(ValueError, match="make bench"):
        bench_table.render({"machine": {}})
    payload = _payload()
    del payload["results"][0]["goal"]
    with pytest.raises(ValueError, match=r"ecg_beats.*lacks \['goal'\]"):
        bench_table.render(payload)


def test_main_reads_the_json_and_reports_a_missing_file(tmp_path, capsys):
    path = tmp_path / "results.json"
    assert bench_table.main([str(path)]) == 1
    assert "make bench" in capsys.readouterr().err
    path.write_text(json.dumps(_payload()))
    assert bench_table.main([str(path)]) == 0
    assert "| ecg_beats |" in capsys.readouterr().out


def test_format_table_marks_missed_goals():
    rows = [ratio("mixing strict", TIMES, "ours", "tv", at_most=1.05), ratio("ecg", TIMES, "ours", "loop", at_least=15)]
    text = format_table(rows).splitlines()
    assert text[2].startswith("mixing strict") and text[2].endswith("NO")
    assert text[3].startswith("ecg") and text[3].endswith("yes") and "20.00x" in text[3]


def test_notebook_times_table_takes_medians_and_marks_missing_machines(tmp_path, capsys):
    def summary(*notebooks):
        return {"notebooks": [{"notebook": n, "runs": runs} for n, runs in notebooks]}

    cpu = summary(
        (
            "02_presets.ipynb",
            [{"wall_s": 30.0, "kernel_cpu_s": 20.0, "error": None}] * 2
            + [{"wall_s": 90.0, "kernel_cpu_s": 21.0, "error": None}],
        ),
        ("01_why.ipynb", [{"wall_s": 40.0, "kernel_cpu_s": 35.0, "error": None}]),
    )
    gpu = summary(("02_presets.ipynb", [{"wall_s": 9.0, "kernel_cpu_s": 8.0, "error": None}]))
    table = bench_table.notebook_times_table({"CPU": cpu, "GPU": gpu}).splitlines()
    assert table[0] == "| notebook | CPU: wall s (kernel CPU s) | GPU: wall s (kernel CPU s) |"
    assert table[2:] == ["| 01_why | 40 (35) | n/a |", "| 02_presets | 30 (20) | 9 (8) |"]
    path = tmp_path / "cpu.json"
    path.write_text(json.dumps(cpu))
    assert bench_table.main(["--times", f"CPU={path}"]) == 0
    assert "| 02_presets | 30 (20) |" in capsys.readouterr().out
    assert bench_table.main(["--times", str(path)]) == 1


def test_bench_revision_exports_an_earlier_lessonlib_under_its_own_name(tmp_path):
    import importlib
    import subprocess
    import sys

    from tools import bench_revision

    if subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    pkg = bench_revision.export_package("HEAD", tmp_path)
    assert pkg.name == "lessonlib_rev" and (pkg / "policies.py").is_file()
    text = (pkg / "policies.py").read_text()
    assert "lessonlib_rev." in text and "from lessonlib." not in text and "import lessonlib\n" not in text
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module("lessonlib_rev.policies")
        assert mod.__file__.startswith(str(tmp_path)) and callable(mod.trivial_augment)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "lessonlib_rev" or m.startswith("lessonlib_rev.")]:
            del sys.modules[name]
    with pytest.raises(SystemExit, match="cannot export lessonlib/ at 'no-such-rev'"):
        bench_revision.export_package("no-such-rev", tmp_path / "x")
