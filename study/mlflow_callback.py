"""A Ray Tune callback that records every trial as a child MLflow run of the study's parent run.

It runs in the driver: per-epoch metrics arrive with Tune's results, image grids and weights are
read from the checkpoints trials report (so it works wherever the driver can read Tune's storage).
The best checkpoint of each trial is staged on the driver and logged when the trial ends.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from study import mlflow_store
from trainables import metric_names as M
from trainables.checkpoint import CONFIG_FILE, MODEL_FILE

IMAGE_FILES = ("recon.png", "samples.png", "recon_before.png")
KNOWN_METRICS = {v for k, v in vars(M).items() if k.isupper() and isinstance(v, str)}


class MLflowTrialLogger(Callback):
    def __init__(self, uri: str, experiment_id: str, parent_run_id: str, study: str, metric: str, mode: str,
                 max_reports: int):
        self.uri, self.experiment_id, self.parent_run_id = uri, experiment_id, parent_run_id
        self.study, self.metric, self.mode, self.max_reports = study, metric, mode, max_reports
        self.runs: dict[str, str] = {}  # Tune trial id -> MLflow run id
        self.best: dict[str, float] = {}  # trial id -> best metric seen in a checkpoint
        self.outcomes: dict[str, dict[str, Any]] = {}  # trial id -> status, epochs, best
        self._staging = Path(tempfile.mkdtemp(prefix="genstudy-best-"))
        self._client = None

    def __getstate__(self) -> dict:  # Tune pickles callbacks with the experiment state
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    @property
    def client(self):
        if self._client is None:
            self._client = mlflow_store.client(self.uri)
        return self._client

    # --- Tune hooks -----------------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        if trial.trial_id in self.runs:  # restarted after a failure or a resume: same run
            return
        from mlflow.entities import Param

        tags = {"mlflow.parentRunId": self.parent_run_id, "study": self.study, "trial_id": trial.trial_id}
        run = mlflow_store.retry(self.client.create_run, self.experiment_id, tags=tags,
                                 run_name=f"{self.study}-{trial.trial_id}")
        self.runs[trial.trial_id] = run.info.run_id
        params = [Param(k, str(v)) for k, v in sorted(trial.config.items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            mlflow_store.retry(self.client.log_batch, run.info.run_id, params=params[i:i + 100])

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        from mlflow.entities import Metric, RunTag

        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        step = int(result.get("training_iteration", 0))
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in result.items()
                   if k in KNOWN_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)]
        tags = [RunTag("node_ip", str(result.get("node_ip", ""))), RunTag("epochs_run", str(step))]
        mlflow_store.retry(self.client.log_batch, run_id, metrics=metrics, tags=tags)

    def on_checkpoint(self, iteration: int, trials: list, trial, checkpoint, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        with checkpoint.as_directory() as d:
            d = Path(d)
            meta = json.loads((d / CONFIG_FILE).read_text())
            epoch = int(meta.get("epoch", 0))
            with tempfile.TemporaryDirectory() as tmp:
                for name in IMAGE_FILES:
                    if (d / name).is_file():
                        stem = Path(name).stem
                        target = Path(tmp) / (f"{stem}.png" if stem == "recon_before" else f"{stem}_e{epoch:04d}.png")
                        shutil.copy(d / name, target)
                if any(Path(tmp).iterdir()):
                    mlflow_store.retry(self.client.log_artifacts, run_id, tmp, "images")
            value = meta.get("metrics", {}).get(self.metric)
            if isinstance(value, (int, float)) and math.isfinite(value) and self._better(trial.trial_id, value):
                self.best[trial.trial_id] = value
                stage = self._staging / trial.trial_id
                stage.mkdir(parents=True, exist_ok=True)
                for name in (MODEL_FILE, CONFIG_FILE):
                    shutil.copy(d / name, stage / name)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        epochs = int((trial.last_result or {}).get("training_iteration", 0))
        status = "finished" if epochs >= self.max_reports else "stopped_early"
        self._end(trial, "FINISHED", status, epochs)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        epochs = int((trial.last_result or {}).get("training_iteration", 0))
        self._end(trial, "FAILED", "failed", epochs, error=_error_line(trial))

    # --- helpers --------------------------------------------------------------------------------
    def _better(self, trial_id: str, value: float) -> bool:
        old = self.best.get(trial_id)
        return old is None or (value < old if self.mode == "min" else value > old)

    def _end(self, trial, mlflow_status: str, status: str, epochs: int, error: str | None = None) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        stage = self._staging / trial.trial_id
        if (stage / MODEL_FILE).is_file():
            mlflow_store.retry(self.client.log_artifacts, run_id, str(stage))
            shutil.rmtree(stage, ignore_errors=True)
        tags = {"status": status, "epochs_run": str(epochs)}
        if status == "stopped_early":
            tags["stopped_by"] = f"ASHA after report {epochs} of {self.max_reports}"
        if error:
            tags["error"] = error[:4000]
        for k, v in tags.items():
            mlflow_store.retry(self.client.set_tag, run_id, k, v)
        mlflow_store.retry(self.client.set_terminated, run_id, mlflow_status)
        self.outcomes[trial.trial_id] = {"status": status, "epochs": epochs, "run_id": run_id,
                                         "best": self.best.get(trial.trial_id), "error": error}

    def close_open_runs(self, status: str = "KILLED") -> None:
        """End every child run still open (the study was interrupted)."""
        for trial_id, run_id in self.runs.items():
            if trial_id not in self.outcomes:
                mlflow_store.retry(self.client.set_tag, run_id, "status", "killed")
                mlflow_store.retry(self.client.set_terminated, run_id, status)
                self.outcomes[trial_id] = {"status": "killed", "run_id": run_id, "best": self.best.get(trial_id)}


def _error_line(trial) -> str:
    path = getattr(trial, "error_file", None)
    try:
        text = Path(path).read_text() if path else ""
    except OSError:
        text = ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "error"
