"""The family's final metrics (``Family.final_metrics``) of a kept checkpoint, measured once when a study ends.

Too costly for every report (the VAE's importance-weighted NLL: k decoder passes per image; the GAN's FID
with the FID Inception network, when its weights are on disk), so measured once, on the best trial's kept
checkpoint (the confirmation runs are not measured yet). A failure is printed and leaves the study's record
standing without them.
"""

from __future__ import annotations

import sys
import tempfile
import time

from record.writer import Writer
from trainables.family import Family


def measure(writer: Writer, run_id: str, step: int, family: Family, data, what: str) -> dict[str, float]:
    """Measure ``run_id``'s kept checkpoint (report ``step``) and log the values on that run; returns them
    ({} when the family measures nothing there, or the measurement failed). ``what`` names the run in
    the lines printed."""
    if family.final_metrics is None:
        return {}
    from study import mlflow_models

    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="genstudy-final-") as tmp:
            model, cfg = mlflow_models.restore(writer, run_id, tmp)
        values = family.final_metrics(model, cfg, data)
    except Exception as e:  # noqa: BLE001 - the study's record stands without its final metrics
        print(f"study.run: the final metrics of {what} failed ({type(e).__name__}: {e}); its checkpoint is in run "
              f"{run_id}", file=sys.stderr)
        return {}
    if values:
        writer.final_metrics(run_id, values, step)
        print(f"  {what}: final metrics measured on its kept checkpoint in {time.perf_counter() - start:.0f}s")
    return values
