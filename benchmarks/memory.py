"""Peak resident memory of the driver and of the trial processes during the smoke study.

The study's tracking database is left in the folder given, so the metric-cost benchmark times
``analysis.export`` on this same study instead of running another (``benchmarks.run`` runs this first).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.procs import cmdline, descendants
from benchmarks.stats import peak_rss_mib


def smoke_args(quick: bool) -> list[str]:
    """The smoke study's flags beyond its profile: quick mode trains 2 trials of 1 report and publishes no model."""
    return ["--num-samples", "2", "--max-epochs", "1", "--no-publish"] if quick else []


def run(data_root: str, quick: bool, folder: Path) -> dict:
    """Run the smoke study with its record in ``folder`` (``tracking_uri`` in the result), sampling memory."""
    uri = f"sqlite:///{folder}/m.db"
    cmd = [sys.executable, "-m", "study.run", "vae_beta_sweep", "--profile", "smoke", "--data-root", data_root,
           "--tracking-uri", uri, "--storage-path", str(Path(folder) / "ray"), *smoke_args(quick)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    driver, trials = 0.0, {}
    while proc.poll() is None:
        driver = max(driver, peak_rss_mib(proc.pid) or 0.0)
        for pid in descendants(proc.pid):
            if "ImplicitFunc" in cmdline(pid):
                trials[pid] = max(trials.get(pid, 0.0), peak_rss_mib(pid) or 0.0)
        time.sleep(0.2)
    if proc.returncode != 0:
        raise RuntimeError(f"the smoke study exited {proc.returncode}:\n" + proc.stderr.read()[-2000:])
    return {"driver_mib": driver, "trial_mib": max(trials.values()) if trials else None,
            "n_trial_processes": len(trials), "returncode": proc.returncode, "tracking_uri": uri}
