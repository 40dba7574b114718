"""Peak resident memory of the driver and of the trial processes during the smoke study."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.procs import cmdline, descendants
from benchmarks.stats import peak_rss_mib


def run(data_root: str, quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "study.run", "vae_beta_sweep", "--profile", "smoke", "--data-root", data_root,
               "--tracking-uri", f"sqlite:///{tmp}/m.db", "--storage-path", str(Path(tmp) / "ray")]
        if quick:
            cmd += ["--num-samples", "2", "--max-epochs", "1"]
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
            "n_trial_processes": len(trials), "returncode": proc.returncode}
