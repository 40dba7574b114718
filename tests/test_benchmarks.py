"""The benchmark harness runs (``--quick``) and writes every section; the numbers live in BENCHMARKS.md."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ONE_TORCH_THREAD_ENV, REPO

pytestmark = pytest.mark.e2e


def test_quick_benchmarks_write_every_section(tmp_path, mnist_root):
    out = tmp_path / "BENCHMARKS.md"
    # one torch thread, in the harness's own runs (--threads) and in the processes it starts: the harness is checked,
    # not the rates; from an empty folder, since the search section reads back runs it finds kept under build/
    p = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--threads", "1", "--out", str(out),
                        "--data-root", str(mnist_root)], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                       env={**os.environ, **ONE_TORCH_THREAD_ENV})
    assert p.returncode == 0, p.stderr[-3000:]
    text = out.read_text()
    for heading in ("## 1. Training throughput", "## 2. Platform overhead", "## 3. Search efficiency",
                    "## 4. Metric cost", "## 5. Memory"):
        assert heading in text
    assert "Quick mode" in text and "python -m benchmarks.run --quick" in text
    assert "kept from an earlier run" not in p.stderr  # every section measured in this run
    speedup = float(re.search(r"\*\*([0-9.]+)×\*\*", text).group(1))
    assert speedup > 0  # a ratio was measured and written; how large is BENCHMARKS.md's figure, not a test's (load moves it)
    fid_row = next(line for line in text.splitlines() if line.startswith("| FID"))
    assert re.match(r"\| FID, 1,000 vs 1,000 images .*\| [0-9.]+ \| [0-9]+ \|", fid_row), fid_row


def test_phases_splits_one_invocation(mnist_root):
    p = subprocess.run([sys.executable, "-m", "benchmarks.phases", "--trials", "1", "--train-size", "2000", "--threads",
                        "1", "--epochs", "2", "--data-root", str(mnist_root)], cwd=REPO, capture_output=True, text=True,
                       timeout=300, env={**os.environ, **ONE_TORCH_THREAD_ENV})
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    rows = {line.split(" | ")[0].lstrip("| "): float(line.rstrip(" |").split(" | ")[-1])
            for line in p.stdout.splitlines() if line.startswith("| ") and not line.startswith("| phase")
            and not line.startswith("| ---")}
    assert {"ray.init", "ray.tune.tuner.Tuner.fit", "ray.shutdown", "study.driver._load_data",
            "study.driver.Driver._open_record", "study.driver.finish"} <= set(rows)
    assert all(v >= 0 for v in rows.values()) and rows["ray.tune.tuner.Tuner.fit"] > 0
    assert "1 trials, 2 reports" in p.stdout
