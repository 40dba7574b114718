"""The benchmark harness runs (``--quick``) and writes every section; the numbers live in BENCHMARKS.md."""

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def test_quick_benchmarks_write_every_section(tmp_path, mnist_root):
    out = tmp_path / "BENCHMARKS.md"
    p = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out), "--data-root",
                        str(mnist_root)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    text = out.read_text()
    for heading in ("## 1. Training throughput", "## 2. Platform overhead", "## 3. Search efficiency",
                    "## 4. Metric cost", "## 5. Memory"):
        assert heading in text
    assert "Quick mode" in text and "python -m benchmarks.run --quick" in text
    speedup = float(re.search(r"\*\*([0-9.]+)×\*\*", text).group(1))
    assert speedup > 1.0  # in-memory batching beats the per-image DataLoader even on 5,000 images
    fid_row = next(line for line in text.splitlines() if line.startswith("| FID"))
    assert re.match(r"\| FID, 1,000 vs 1,000 images .*\| [0-9.]+ \| [0-9]+ \|", fid_row), fid_row
