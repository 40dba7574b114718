"""One smoke study and its export, shared by the analysis test modules of a pytest session.

Each module's fixture calls :func:`smoke_export`; the first call (of any pytest-xdist worker) runs ``study.run`` and
``analysis.export`` (real Ray, MLflow on SQLite, real MNIST) and the later calls reuse the folder,
so the study runs once per session however many modules need it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from tests.conftest import new_sqlite, once, run_cli
from tests.mlflow_study import STUDY as SHARED_STUDY
from tests.mlflow_study import smoke_study

# smaller t-SNE and SVM than the CLI defaults: the same code paths at a fraction of the CPU time (the VAE smoke
# study's export: 17.8 CPU-s with 500 points and 4,000 SVM images, 13.3 with 200 and 1,000)
SVM_TRAIN_SIZE = 2000
EXPORT_ARGS = ("--tsne-points", "300", "--svm-train-size", str(SVM_TRAIN_SIZE))


@dataclass(frozen=True)
class SmokeExport:
    study: str
    uri: str
    out: Path
    study_code: int
    export_code: int
    export_seconds: float
    log: str  # the tails of both commands' output, for assertion messages
    study_stdout: str  # all of study.run's standard output (its summary)


def smoke_export(base: Path, study: str, mnist_root: Path, study_args: tuple[str, ...] = (),
                 export_args: tuple[str, ...] = ()) -> SmokeExport:
    """Run (once per session) the smoke profile of ``study`` and export it into ``base/<study>/export``
    (``export_args``: more ``analysis.export`` flags; ``{out}`` in one is replaced by the export folder).
    The VAE's plain smoke study is the session's shared one (tests/mlflow_study.py, which also registers its
    best model): exporting it here saves a study."""
    folder = base / f"analysis-{study}"
    with once(folder):
        record = folder / "smoke.json"
        if not record.is_file():
            record.write_text(json.dumps(_make(base, folder, study, mnist_root, study_args, export_args)))
        fields = json.loads(record.read_text())
    return SmokeExport(**{**fields, "out": Path(fields["out"])})


def _make(base: Path, folder: Path, study: str, mnist_root: Path, study_args: tuple[str, ...],
          export_args: tuple[str, ...]) -> dict:
    if study == SHARED_STUDY and not study_args:
        shared = smoke_study(base, mnist_root)
        uri, run = shared.uri, SimpleNamespace(returncode=shared.code, stdout=shared.stdout, stderr=shared.stderr)
    else:
        uri = new_sqlite(folder)
        run = run_cli("study.run", study, "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
                      "--storage-path", str(folder / "ray"), *study_args)
    out = folder / "export"
    start = time.perf_counter()
    exp = run_cli("analysis.export", study, "--tracking-uri", uri, "--out", str(out), "--data-root", str(mnist_root),
                  *EXPORT_ARGS, *(a.replace("{out}", str(out)) for a in export_args))
    result = SmokeExport(study, uri, out, run.returncode, exp.returncode, time.perf_counter() - start,
                         f"study.run:\n{run.stdout[-1500:]}{run.stderr[-1500:]}\nexport:\n{exp.stderr[-20000:]}",
                         run.stdout)
    return {**result.__dict__, "out": str(out)}
