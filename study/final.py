"""The family's final metrics (``Family.final_metrics``) of a kept checkpoint, measured once when a study ends.

Too costly for every report (the VAE's importance-weighted NLL: k decoder passes per image; the GAN's FID
with the FID Inception network, when its weights are on disk), so measured once per kept checkpoint when the
study ends: the best trial's (:func:`measure`) and, when the study confirms its top configurations, each
confirmation run's (:func:`measure_runs`: every seed of each confirmed configuration, summarised over seeds
by :mod:`study.confirm`). A failure is printed and leaves the study's record standing without them.
"""

from __future__ import annotations

import sys
import tempfile
import time

from record.store import retry
from record.writer import Writer
from trainables.family import Family
from trainables.metric_names import FINAL_METRICS


def measure(writer: Writer, run_id: str, step: int, family: Family, data, what: str,
            timed: bool = True) -> dict[str, float]:
    """Measure ``run_id``'s kept checkpoint (report ``step``) and log the values on that run; returns them
    ({} when the family measures nothing there, or the measurement failed). ``what`` names the run in
    the lines printed; ``timed``: print how long it took."""
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
    if values and timed:
        print(f"  {what}: final metrics measured on its kept checkpoint in {time.perf_counter() - start:.0f}s")
    return values


def measure_runs(writer: Writer, runs: list[tuple[str, int, str]], family: Family, data,
                 what: str) -> dict[str, dict[str, float]]:
    """:func:`measure` each of ``runs`` ((run id, report of its kept checkpoint, its name) each), except a run
    that holds its final metrics already (measured before the study was resumed): those are read back. Returns
    run id -> values; one line says how long the measurements of ``what`` took together."""
    if family.final_metrics is None:
        return {}
    start = time.perf_counter()
    out, measured = {}, 0
    for run_id, step, name in runs:
        held = {k: v for k, v in retry(writer.client.get_run, run_id).data.metrics.items() if k in FINAL_METRICS}
        if not held:
            held = measure(writer, run_id, step, family, data, name, timed=False)
            measured += bool(held)
        out[run_id] = held
    if measured:
        print(f"  {what}: final metrics measured on {measured} kept checkpoints in {time.perf_counter() - start:.0f}s")
    return out
