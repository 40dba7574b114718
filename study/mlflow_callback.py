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
import time
from pathlib import Path

from ray.tune import Callback

from record import reader
from record import schema as S
from record.errors import RecordUnavailable
from record.store import retry
from record.writer import Writer
from study import result_keys as keys
from study.confirm import point_key
from study.interrupts import EXIT_DISK_FULL, EXIT_RECORD, request_stop
from study.lineage import ORIGIN_FILE
from study import tune_state
from study.mlflow_ui import trial_run_name
from trainables import metric_names as M
from trainables.checkpoint import CONFIG_FILE, METRICS_KEY, MODEL_FILE, STATE_FILE, report_of

BEFORE_TRAINING = {"recon_before": "recon"}  # grids of the untrained model: logged under this key at step 0
KNOWN_METRICS = {v for k, v in vars(M).items() if k.isupper() and isinstance(v, str)}


class MLflowTrialLogger(Callback):
    def __init__(self, uri: str, experiment_id: str, parent_run_id: str, study: str, metric: str, mode: str,
                 max_reports: int, staging_dir: str, run_tags: dict[str, str] | None = None,
                 config_tags: dict[str, dict[str, str]] | None = None, name_keys: tuple[str, ...] = (),
                 dataset=None, name_prefix: str = "trial", spool_dir: str | None = None,
                 tune_state_dir: str | None = None, mutable: tuple[str, ...] = (), metric_names: tuple[str, ...] = ()):
        self.uri, self.experiment_id, self.parent_run_id = uri, experiment_id, parent_run_id
        self.study, self.metric, self.mode, self.max_reports = study, metric, mode, max_reports
        self.staging = staging_dir
        self.run_tags = dict(run_tags or {})  # on every trial's run (e.g. mlflow.source.git.commit)
        self.config_tags = dict(config_tags or {})  # confirm.point_key(config) -> tags of that trial's run
        self.name_keys = name_keys  # config keys in each run's name: "trial-3 β=0.81 latent=12 mlp"
        self.dataset = dataset  # an mlflow.entities.DatasetInput every trial logs (the Dataset column)
        self.name_prefix = name_prefix  # "trial" for the search's runs, "confirm" for the confirmation's
        self.spool_dir = spool_dir  # where writes wait while the tracking store does not answer
        self.tune_state_dir = tune_state_dir  # Tune's local experiment folder, whose state is backed up
        self._last_backup = 0.0
        self.known = KNOWN_METRICS | set(metric_names)  # what a report logs: genstudy's names and an outside family's
        self.mutable = tuple(mutable)  # PBT: the keys it may change, logged at every report (S.pbt_value)
        self.configs: dict[str, dict] = {}  # PBT: trial id -> the config its run last recorded
        self.lineage: dict[str, list[dict]] = {}  # PBT: trial id -> its exploits (Writer.lineage)
        self.runs: dict[str, str] = {}  # Tune trial id -> MLflow run id
        self.restored = False  # restored from Tune's state (--resume): a trial's run may exist that runs lacks
        self.best: dict[str, float] = {}  # trial id -> best metric seen in a checkpoint
        self.ended: set[str] = set()  # trials whose run this callback ended (or found ended)
        self.replayed: set[str] = set()  # trials MLflow records as ended, which a resume reports back (not saved:
        # on_trial_start derives it from MLflow again after every restore)
        self.logged: dict[str, int] = {}  # trial id -> last report MLflow holds for a continued run (derived likewise)
        self._writer: Writer | None = None

    # --- state: pickled with the Tuner, snapshotted with the experiment -------------------------
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_writer"} | {"_writer": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("ended", set(state.get("outcomes", ())))  # pickled before "ended" existed
        self.__dict__.setdefault("spool_dir", None)
        self.__dict__.setdefault("tune_state_dir", None)
        self.__dict__.setdefault("_last_backup", 0.0)
        self.__dict__.setdefault("known", KNOWN_METRICS)  # pickled before outside families
        self.restored = True  # unpickled: Tune restores its callbacks only to resume
        for key, empty in (("mutable", ()), ("configs", {}), ("lineage", {})):  # pickled before PBT
            self.__dict__.setdefault(key, empty)

    def get_state(self) -> dict:
        return {"runs": dict(self.runs), "best": dict(self.best), "ended": sorted(self.ended),
                "configs": dict(self.configs), "lineage": dict(self.lineage)}

    def set_state(self, state: dict) -> None:
        self.restored = True
        self.runs, self.best = state["runs"], state["best"]
        self.configs, self.lineage = state.get("configs", {}), state.get("lineage", {})
        self.ended = set(state.get("ended", state.get("outcomes", ())))  # "outcomes": states saved before 0.2

    @property
    def writer(self) -> Writer:
        if self._writer is None:
            self._writer = Writer(self.uri, self.spool_dir)
        return self._writer

    # --- Tune hooks -----------------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        try:
            self._start(trial)
        except RecordUnavailable as e:  # no run to record the trial in: stop the study, resume continues it
            request_stop(f"{e}", EXIT_RECORD)

    def _start(self, trial) -> None:
        run_id = self.runs.get(trial.trial_id)
        point = self.config_tags.get(point_key(trial.config))
        retag = False
        if run_id is None and self.restored:  # a killed driver may have made its run after Tune's last snapshot
            self.writer.flush()
            run_id = reader.find_trial_run(self.writer.client, self.experiment_id, self.parent_run_id, trial.trial_id)
        if run_id is None and point:
            # a confirmation killed before Tune's snapshot held this trial (or before its first snapshot): the point
            # is handed out again as a new trial (a new id), trained from the start with the same seed; the killed
            # attempt's run of that point is its run (its reports so far are not logged twice)
            self.writer.flush()
            run_id = reader.find_point_run(self.writer.client, self.experiment_id, self.parent_run_id, point,
                                           self.runs.values())
            retag = run_id is not None
        client = self.writer.client
        if run_id is not None:  # restarted after a worker failure or a driver resume: same run
            self.runs[trial.trial_id] = run_id
            if reader.has_ended(retry(client.get_run, run_id)):
                # it ended after Tune's last snapshot: the trainable reports its result back, untouched
                self.replayed.add(trial.trial_id)
                self.ended.add(trial.trial_id)
                return
            self.ended.discard(trial.trial_id)
            # Tune's snapshot of a remote experiment can lag what MLflow holds: a resumed trial may train
            # again reports that are logged already (the same numbers: resume is exact); log each once
            self.logged[trial.trial_id] = reader.last_report(client, run_id, self.metric)
            if self.mutable:
                self._pbt_from_record(trial, run_id)
            self.writer.continue_trial(run_id, trial.trial_id if retag else None)
            return
        tags = {**self.run_tags, **(point or {})}
        name = trial_run_name(len(self.runs) + 1, trial.config, self.name_keys, self.name_prefix)
        self.configs[trial.trial_id] = dict(trial.config)
        self.runs[trial.trial_id] = self.writer.start_trial(
            self.experiment_id, self.parent_run_id, name, study=self.study, trial_id=trial.trial_id,
            config=trial.config, tags=tags, dataset=self.dataset)

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        self._backup_tune_state()
        self._log_result(trial, result)

    def _backup_tune_state(self) -> None:
        if self.tune_state_dir and time.monotonic() - self._last_backup > tune_state.BACKUP_EVERY_S:
            if tune_state.backup(self.tune_state_dir):  # a state being written is tried again at the next result
                self._last_backup = time.monotonic()

    def _log_result(self, trial, result: dict) -> None:
        run_id = self.runs.get(trial.trial_id)
        step = int(result.get(keys.ITERATION, 0))  # one report = one step (an epoch for the VAE families)
        if run_id is None or trial.trial_id in self.replayed or step <= self.logged.get(trial.trial_id, 0):
            return
        metrics = {k: v for k, v in result.items() if k in self.known and isinstance(v, (int, float))
                   and not isinstance(v, bool) and math.isfinite(v)}
        if keys.COPIED_FROM in result:
            self._copied(trial, run_id, str(result[keys.COPIED_FROM]), int(result[keys.COPIED_REPORT]),
                         dict(result[keys.COPIED_CONFIG]))
        # the schedule, report by report: what this report trained with (not trial.config, which PBT may have
        # changed already, before the callbacks see the result)
        config = self.configs.get(trial.trial_id, trial.config)
        metrics |= {S.pbt_value(k): float(config[k]) for k in self.mutable}
        node = result.get(keys.NODE_ID)
        self.writer.report(run_id, step, metrics, str(node) if node else None, str(result.get(keys.NODE_IP, "")))

    def on_checkpoint(self, iteration: int, trials: list, trial, checkpoint, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None or trial.trial_id in self.replayed:
            return
        with checkpoint.as_directory() as d:
            d = Path(d)
            meta = json.loads((d / CONFIG_FILE).read_text())
            k = report_of(meta)
            logged = k <= self.logged.get(trial.trial_id, 0)  # its grids are in MLflow already
            # every grid a family writes, under its name as key, one image per step (the UI's step slider)
            for png in sorted(d.glob("*.png")) if not logged else ():
                key, step = (BEFORE_TRAINING[png.stem], 0) if png.stem in BEFORE_TRAINING else (png.stem, k)
                self.writer.image(run_id, _read_image(png), key=key, step=step)
            value = meta.get(METRICS_KEY, {}).get(self.metric)
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
        reports = int(last.get(keys.ITERATION, 0))
        if last.get(keys.FAILURE):  # the wrapper ended the trial on a failure that must not be retried
            self._end(trial, S.FAILED, reports, error=str(last[keys.FAILURE]))
        else:
            self._end(trial, S.FINISHED if reports >= self.max_reports else S.STOPPED_EARLY, reports)

    def on_trial_recover(self, iteration: int, trials: list, trial, **info) -> None:
        """A trial failed and Tune will restart it from its checkpoint. A full disk stops the study instead
        (every trial would fail the same way): ``--resume`` continues the trial once there is space."""
        line = _error_line(trial)
        if is_disk_full(line):
            request_stop(f"{S.DISK_FULL}: trial {trial.trial_id}: {line}", EXIT_DISK_FULL)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        if trial.trial_id in self.replayed:
            return
        line = _error_line(trial)
        if is_disk_full(line):  # not the trial's fault: KILLED, and --resume runs it again from its checkpoint
            run_id = self.runs.get(trial.trial_id)
            if run_id is not None:
                self.writer.kill_trial(run_id, S.DISK_FULL)
            request_stop(f"{S.DISK_FULL}: trial {trial.trial_id}: {line}", EXIT_DISK_FULL)
            return
        self._end(trial, S.FAILED, int((trial.last_result or {}).get(keys.ITERATION, 0)), error=line)

    def on_experiment_end(self, trials: list, **info) -> None:
        self.writer.flush()
        staging = Path(self.staging)
        known = {t.trial_id for t in trials}
        for stage in staging.iterdir() if staging.is_dir() else ():
            if stage.name not in known:  # a trial a killed driver started after Tune's last snapshot: the resume
                shutil.rmtree(stage, ignore_errors=True)  # proposed it again; its first run is KILLED
        if staging.is_dir() and not any(staging.iterdir()):  # every trial's checkpoint is in MLflow
            staging.rmdir()

    # --- helpers --------------------------------------------------------------------------------
    def _pbt_from_record(self, trial, run_id: str) -> None:
        """A continued PBT trial's lineage and current values as its run holds them: Tune's snapshot (and this
        callback's state in it) can predate an exploit the killed driver recorded, whose event would otherwise
        be dropped from the lineage at the trial's next exploit, and whose values would count as changed again."""
        events, values = reader.pbt_record(self.writer.client, run_id, self.mutable)
        known = {(e["report"], e["donor_trial"]) for e in events}
        events += [e for e in self.lineage.get(trial.trial_id, []) if (e["report"], e["donor_trial"]) not in known]
        self.lineage[trial.trial_id] = sorted(events, key=lambda e: e["report"])
        config = dict(self.configs.get(trial.trial_id, trial.config))
        for e in self.lineage[trial.trial_id]:  # every copy replaced the configuration (values as they continued)
            config.update(e["changed"])
        for key, value in values.items():  # logged as floats: an integer key (n_critic) back to an int
            config[key] = int(round(value)) if isinstance(config.get(key), int) else value
        self.configs[trial.trial_id] = config

    def _copied(self, trial, run_id: str, donor: str, report: int, config: dict) -> None:
        """PBT copied ``donor``'s checkpoint of ``report`` into ``trial``, which continues with ``config``: the
        exploit joins the run's lineage, with every config value that changed."""
        events = self.lineage.setdefault(trial.trial_id, [])
        if any(e["report"] == report and e["donor_trial"] == donor for e in events):
            return  # reported again by a trial restarted before its next checkpoint
        before = self.configs.get(trial.trial_id, {})
        changed = {k: v for k, v in config.items() if before.get(k) != v}
        events.append({"report": report, "donor_trial": donor, "donor_run": self.runs.get(donor), "changed": changed})
        self.configs[trial.trial_id] = config
        self.writer.lineage(run_id, events)

    def _better(self, trial_id: str, value: float) -> bool:
        old = self.best.get(trial_id)
        return old is None or (value < old if self.mode == "min" else value > old)

    def _end(self, trial, status: str, reports: int, error: str | None = None) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        stage = Path(self.staging) / trial.trial_id
        if (stage / MODEL_FILE).is_file():
            self.writer.checkpoint(run_id, str(stage))
        best = (M.best_of(self.metric), self.best[trial.trial_id]) if trial.trial_id in self.best else None
        self.writer.end_trial(run_id, status, reports, self.max_reports, error=error, best=best)
        self.ended.add(trial.trial_id)


def _read_image(path: Path):
    """The PNG in memory (the checkpoint folder may be gone by the time the writer logs it)."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return image.copy()


def _kept_with_best(f: Path) -> bool:
    """Weights, config and any export a family writes; not the trainer state, grids or temporary files."""
    return f.is_file() and f.name not in (STATE_FILE, ORIGIN_FILE) and f.suffix not in (".png", ".tmp") and not f.name.startswith(".")


DISK_FULL_ERRORS = ("[Errno 28]", "No space left on device", "[Errno 122]", "Disk quota exceeded", "[Errno 27]",
                    "File too large")  # ENOSPC, EDQUOT, EFBIG (a file-size limit)


def is_disk_full(error_line: str) -> bool:
    return any(mark in error_line for mark in DISK_FULL_ERRORS)


def _error_line(trial) -> str:
    path = getattr(trial, "error_file", None)
    try:
        text = Path(path).read_text() if path else ""
    except OSError:
        text = ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else S.OTHER_FAILURE
