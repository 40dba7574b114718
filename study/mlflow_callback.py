"""A Ray Tune callback that records every trial as a child MLflow run of the study's parent run.

It runs in the driver: per-epoch metrics arrive with Tune's results, image grids and weights are
read from the checkpoints trials report (so it works wherever the driver can read Tune's storage).
The best checkpoint of each trial is staged beside Tune's experiment state and logged when the
trial ends. Its state (trial -> run, best values) is saved with Tune's experiment state, so a
resumed study writes into the same runs.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from study import result_keys as keys
from study.confirm import point_key
from study.invocation import has_ended
from study.mlflow_ui import trial_run_name
from study.mlflow_writer import MlflowWriter
from trainables import metric_names as M
from trainables.checkpoint import CONFIG_FILE, MODEL_FILE, STATE_FILE

BEFORE_TRAINING = {"recon_before": "recon"}  # grids of the untrained model: logged under this key at step 0
KNOWN_METRICS = {v for k, v in vars(M).items() if k.isupper() and isinstance(v, str)}


class MLflowTrialLogger(Callback):
    def __init__(self, uri: str, experiment_id: str, parent_run_id: str, study: str, metric: str, mode: str,
                 max_reports: int, staging_dir: str, run_tags: dict[str, str] | None = None,
                 config_tags: dict[str, dict[str, str]] | None = None, name_keys: tuple[str, ...] = (),
                 dataset=None, name_prefix: str = "trial"):
        self.uri, self.experiment_id, self.parent_run_id = uri, experiment_id, parent_run_id
        self.study, self.metric, self.mode, self.max_reports = study, metric, mode, max_reports
        self.staging = staging_dir
        self.run_tags = dict(run_tags or {})  # on every trial's run (e.g. mlflow.source.git.commit)
        self.config_tags = dict(config_tags or {})  # confirm.point_key(config) -> tags of that trial's run
        self.name_keys = name_keys  # config keys in each run's name: "trial-3 β=0.81 latent=12 mlp"
        self.dataset = dataset  # an mlflow.entities.DatasetInput every trial logs (the Dataset column)
        self.name_prefix = name_prefix  # "trial" for the search's runs, "confirm" for the confirmation's
        self.runs: dict[str, str] = {}  # Tune trial id -> MLflow run id
        self.best: dict[str, float] = {}  # trial id -> best metric seen in a checkpoint
        self.outcomes: dict[str, dict[str, Any]] = {}  # trial id -> status, epochs, best, error
        self.replayed: set[str] = set()  # trials MLflow records as ended, which a resume reports back (not saved:
        # on_trial_start derives it from MLflow again after every restore)
        self.logged: dict[str, int] = {}  # trial id -> last report MLflow holds for a continued run (derived likewise)
        self._writer: MlflowWriter | None = None

    # --- state: pickled with the Tuner, snapshotted with the experiment -------------------------
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_writer"} | {"_writer": None}

    def get_state(self) -> dict:
        return {"runs": dict(self.runs), "best": dict(self.best), "outcomes": dict(self.outcomes)}

    def set_state(self, state: dict) -> None:
        self.runs, self.best, self.outcomes = state["runs"], state["best"], state["outcomes"]

    @property
    def writer(self) -> MlflowWriter:
        if self._writer is None:
            self._writer = MlflowWriter(self.uri)
        return self._writer

    # --- Tune hooks -----------------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        run_id = self.runs.get(trial.trial_id) or self._find_run(trial.trial_id)
        if run_id is not None:  # restarted after a worker failure or a driver resume: same run
            self.runs[trial.trial_id] = run_id
            run = self.writer.now("get_run", run_id)
            if has_ended(run):
                # it ended after Tune's last snapshot: the trainable reports its result back, untouched
                self.replayed.add(trial.trial_id)
                self.outcomes[trial.trial_id] = {
                    "status": run.data.tags["status"], "epochs": int(run.data.tags.get("epochs_run", 0)),
                    "run_id": run_id, "best": self.best.get(trial.trial_id), "error": run.data.tags.get("error")}
                return
            self.outcomes.pop(trial.trial_id, None)
            # Tune's snapshot of a remote experiment can lag what MLflow holds: a resumed trial may train
            # again reports that are logged already (the same numbers: resume is exact); log each once
            history = self.writer.now("get_metric_history", run_id, self.metric)
            self.logged[trial.trial_id] = max((m.step for m in history), default=0)
            self.writer.later(run_id, "update_run", "RUNNING")
            return
        from mlflow.entities import Param

        tags = {**self.run_tags, **self.config_tags.get(point_key(trial.config), {}),
                "mlflow.parentRunId": self.parent_run_id, "study": self.study, "trial_id": trial.trial_id}
        name = trial_run_name(len(self.runs) + 1, trial.config, self.name_keys, self.name_prefix)
        run = self.writer.now("create_run", self.experiment_id, tags=tags, run_name=name)
        self.runs[trial.trial_id] = run.info.run_id
        params = [Param(k, str(v)) for k, v in sorted(trial.config.items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            self.writer.later(run.info.run_id, "log_batch", (), params[i:i + 100])
        if self.dataset is not None:
            self.writer.later(run.info.run_id, "log_inputs", [self.dataset])

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        from mlflow.entities import Metric

        run_id = self.runs.get(trial.trial_id)
        step = int(result.get("training_iteration", 0))  # one report = one step (an epoch for VAEs)
        if run_id is None or trial.trial_id in self.replayed or step <= self.logged.get(trial.trial_id, 0):
            return
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in result.items()
                   if k in KNOWN_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)
                   and math.isfinite(v)]
        self.writer.metrics(run_id, metrics)
        tags = {"epochs_run": str(int(result.get("training_iteration", 0)))}
        if result.get(keys.NODE_ID):
            tags["node_id"] = str(result[keys.NODE_ID])
            tags["node_ip"] = str(result.get("node_ip", ""))
        for k, v in tags.items():
            self.writer.later(run_id, "set_tag", k, v)

    def on_checkpoint(self, iteration: int, trials: list, trial, checkpoint, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None or trial.trial_id in self.replayed:
            return
        with checkpoint.as_directory() as d:
            d = Path(d)
            meta = json.loads((d / CONFIG_FILE).read_text())
            epoch = int(meta.get("epoch", 0))
            logged = epoch <= self.logged.get(trial.trial_id, 0)  # its grids are in MLflow already
            # every grid a family writes, under its name as key, one image per step (the UI's step slider)
            for png in sorted(d.glob("*.png")) if not logged else ():
                key, step = (BEFORE_TRAINING[png.stem], 0) if png.stem in BEFORE_TRAINING else (png.stem, epoch)
                self.writer.later(run_id, "log_image", _read_image(png), key=key, step=step)
            value = meta.get("metrics", {}).get(self.metric)
            if isinstance(value, (int, float)) and math.isfinite(value) and self._better(trial.trial_id, value):
                self.best[trial.trial_id] = value
                stage = Path(self.staging) / trial.trial_id
                stage.mkdir(parents=True, exist_ok=True)
                for f in filter(_kept_with_best, d.iterdir()):
                    shutil.copy(f, stage / f.name)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        if trial.trial_id in self.replayed:
            return  # MLflow already holds how it ended
        last = trial.last_result or {}
        epochs = int(last.get("training_iteration", 0))
        if last.get(keys.FAILURE):  # the wrapper ended the trial on a failure that must not be retried
            self._end(trial, "FAILED", "failed", epochs, error=str(last[keys.FAILURE]))
        else:
            self._end(trial, "FINISHED", "finished" if epochs >= self.max_reports else "stopped_early", epochs)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        if trial.trial_id in self.replayed:
            return
        epochs = int((trial.last_result or {}).get("training_iteration", 0))
        self._end(trial, "FAILED", "failed", epochs, error=_error_line(trial))

    def on_experiment_end(self, trials: list, **info) -> None:
        self.writer.flush()
        staging = Path(self.staging)
        if staging.is_dir() and not any(staging.iterdir()):  # every trial's checkpoint is in MLflow
            staging.rmdir()

    # --- helpers --------------------------------------------------------------------------------
    def _find_run(self, trial_id: str) -> str | None:
        """The run a previous driver made for ``trial_id`` under this parent, if any."""
        runs = self.writer.now("search_runs", [self.experiment_id],
                               filter_string=f"tags.trial_id = '{trial_id}' and "
                                             f"tags.mlflow.parentRunId = '{self.parent_run_id}'")
        return runs[0].info.run_id if runs else None

    def _better(self, trial_id: str, value: float) -> bool:
        old = self.best.get(trial_id)
        return old is None or (value < old if self.mode == "min" else value > old)

    def _end(self, trial, mlflow_status: str, status: str, epochs: int, error: str | None = None) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        stage = Path(self.staging) / trial.trial_id
        if (stage / MODEL_FILE).is_file():
            _export(stage)
            self.writer.later(run_id, "log_artifacts", str(stage), cleanup=str(stage))
        if trial.trial_id in self.best:  # the value the study ranks this trial by: a column of the saved view
            from mlflow.entities import Metric

            best = Metric(M.best_of(self.metric), self.best[trial.trial_id], int(time.time() * 1000), epochs)
            self.writer.metrics(run_id, [best])
        tags = {"status": status, "epochs_run": str(epochs)}
        if status == "stopped_early":
            tags["stopped_by"] = f"ASHA after report {epochs} of {self.max_reports}"
        if error:
            tags["error"] = error[:4000]
            tags["failure_reason"] = error.split(":", 1)[0] if error.startswith(("diverged", "cuda_oom")) else "error"
        for k, v in tags.items():
            self.writer.later(run_id, "set_tag", k, v)
        self.writer.later(run_id, "set_terminated", mlflow_status)
        self.outcomes[trial.trial_id] = {"status": status, "epochs": epochs, "run_id": run_id,
                                         "best": self.best.get(trial.trial_id), "error": error}

    def close_open_runs(self, status: str = "KILLED") -> None:
        """End every child run still open (the study was interrupted), and wait for all writes."""
        for trial_id, run_id in self.runs.items():
            if trial_id not in self.outcomes:
                self.writer.later(run_id, "set_tag", "status", "killed")
                self.writer.later(run_id, "set_terminated", status)
                self.outcomes[trial_id] = {"status": "killed", "run_id": run_id, "epochs": None,
                                           "best": self.best.get(trial_id), "error": None}
        self.writer.flush()


def _export(stage: Path) -> None:
    """The family's export of the kept checkpoint (the GAN's TorchScript generator), once per trial;
    a failure is reported and the checkpoint is logged without it."""
    from trainables.families import FAMILIES

    try:
        family = FAMILIES[json.loads((stage / CONFIG_FILE).read_text())["family"]]
        if family.export is not None:
            family.export(str(stage))
    except Exception as e:  # noqa: BLE001 - a study outlives one failed export
        print(f"genstudy: export of {stage} failed: {e}", file=sys.stderr)


def _read_image(path: Path):
    """The PNG in memory (the checkpoint folder may be gone by the time the writer logs it)."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return image.copy()


def _kept_with_best(f: Path) -> bool:
    """Weights, config and any export a family writes; not the trainer state, grids or temporary files."""
    return f.is_file() and f.name != STATE_FILE and f.suffix not in (".png", ".tmp") and not f.name.startswith(".")


def _error_line(trial) -> str:
    path = getattr(trial, "error_file", None)
    try:
        text = Path(path).read_text() if path else ""
    except OSError:
        text = ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "error"
