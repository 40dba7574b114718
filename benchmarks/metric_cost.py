"""Cost of the metrics: FID between 10,000 images (training images standing in for generated ones)
and 10,000 test images, classifier features included, and the analysis export of the smoke study that
:mod:`benchmarks.memory` ran; wall time and peak resident memory, each in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FID_CHILD = """
import json, resource, sys, time, numpy as np, torch
from trainables.classifier import load_or_train, features_and_probs
from trainables.data import load_dataset
from trainables.fid import FeatureStats, frechet_distance
n, root = int(sys.argv[1]), sys.argv[2]
data = load_dataset("mnist", root)
clf, acc, _ = load_or_train(data, root)
to_float = lambda x: torch.from_numpy(np.array(x[:n])).float().div(255)
start = time.perf_counter()
fake_f, _ = features_and_probs(clf, to_float(data.x_train))  # stands in for generated images
real_f, _ = features_and_probs(clf, to_float(data.x_test))
a, b = FeatureStats.of(fake_f), FeatureStats.of(real_f)
fid = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "fid": fid, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


PEAK_WRAPPER = """
import atexit, resource, runpy, sys
atexit.register(lambda: print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr))
module, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def fid_cost(data_root: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", FID_CHILD, str(n), data_root], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def export_cost(uri: str, data_root: str, export_extra: tuple[str, ...] = ()) -> dict:
    """Wall time and peak RSS of ``analysis.export`` of the smoke study recorded at ``uri``."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, "analysis.export", "vae_beta_sweep",
                               "--tracking-uri", uri, "--out", str(Path(tmp) / "export"), *export_extra],
                              capture_output=True, text=True, env={**os.environ, "GENSTUDY_DATA_ROOT": data_root})
        seconds = time.perf_counter() - start
    peaks = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK_KIB ")]
    if proc.returncode != 0 or not peaks:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return {"seconds": seconds, "peak_mib": int(peaks[-1].split()[1]) / 1024}


def run(data_root: str, quick: bool, smoke_uri: str) -> dict:
    """``smoke_uri``: the tracking URI of the smoke study that :mod:`benchmarks.memory` ran."""
    return {"fid": fid_cost(data_root, 1000 if quick else 10_000), "fid_n": 1000 if quick else 10_000,
            "export": export_cost(smoke_uri, data_root,
                                  ("--tsne-points", "200", "--svm-train-size", "1000") if quick else ())}
