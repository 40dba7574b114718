"""Optuna TPE as a Ray Tune searcher, with the parameter cap kept out of training.

Differences from Ray's ``OptunaSearch``, each for a reason:

* A configuration over the parameter cap is never handed to Tune. It is told to Optuna as
  infeasible (``trial.set_constraint``), so TPE learns to avoid the region, and counted.
* A trial that ASHA stopped early is told to Optuna as PRUNED with its per-epoch values, not as
  COMPLETE with an early (worse) value that TPE would compare with finished trials.
* ``num_samples`` counts proposals, rejected ones included: the search ends after that many.
* It limits concurrency itself (no ``ConcurrencyLimiter``), so its running trials are part of its
  saved state and a resumed study still tells Optuna how they ended.
* The Optuna study lives in a journal (``JournalStorage``), never in a pickle: the saved state
  is JSON holding the journal's text, which later Optuna versions read, and Tune copies it with its
  experiment state to any storage path (a folder or a URI). ``optuna_journal.log`` beside it opens in
  ``optuna-dashboard``. While the study runs the journal is kept in memory, in the lines Optuna's
  ``JournalFileBackend`` writes, without that backend's file lock and fsync on every operation (a
  300-trial study at 32 at once, profiled on a loaded machine: 3,795 of each, 21 s of the driver's event
  loop): Tune's snapshot of the searcher is what makes it durable. Only public Optuna calls are used (``study.tell(number, ...)``, storage methods).
* ``sampler="grid"`` proposes every point of ``grid`` once (:mod:`study.grid`); the cap applies to
  each point the same way.
* With several ``objectives`` (``--objectives val_nelbo,n_params``) the Optuna study has one direction per
  objective (TPE's and random search's multi-objective modes) and the cap stays a constraint. The first objective
  is the searcher's (and Tune's, ASHA's, the kept checkpoint's) metric. Optuna takes no intermediate values from
  a multi-objective trial, so the searcher keeps each trial's best first-objective value and the other objectives'
  values at that report (``n_params``: the count made when it was proposed) and tells Optuna those when the trial
  finishes. A trial ASHA stopped early is told PRUNED, without values: Optuna's multi-objective TPE (5.1) ranks
  pruned trials after every completed one, in no order among them (they have no values), so they fall in its
  "bad" group once as many trials have completed as its "good" group holds; they are never on
  ``study.best_trials``, the front.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import optuna
from optuna.storages.journal import BaseJournalBackend, JournalStorage
from ray.tune.search import Searcher

from record.objectives import Objective
from search_spaces import Params, sample_space
from study.grid import GridSearchSampler
from trainables.metric_names import N_PARAMS

JOURNAL_FILE = "optuna_journal.log"  # the study in Optuna's journal format (optuna-dashboard opens it)
STUDY_NAME = "genstudy"
STATE_VERSION = 1


@dataclass
class Rejection:
    params: dict[str, Any]  # Optuna's parameter names
    n_params: int
    config: dict[str, Any] = field(default_factory=dict)  # the full resolved config


@dataclass
class SearchSettings:
    space: Callable[[Params], dict]
    complete: Callable[[dict], dict]  # sampled values -> the trial's full config
    count_params: Callable[[dict], int]  # full config -> parameter count, nothing allocated
    param_cap: int
    num_samples: int
    max_t: int
    fixed: Mapping[str, Any] = field(default_factory=dict)
    ranges: Mapping[str, Any] = field(default_factory=dict)
    baselines: Sequence[Mapping[str, Any]] = ()
    seed: int = 0
    n_startup_trials: int = 5  # random proposals before TPE models the results (study.run: a third of them)
    max_concurrent: int = 2
    sampler: str = "tpe"  # "tpe"; "random": the baseline TPE is measured against; "grid": every point of grid once
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)  # config key -> values (sampler "grid")
    objectives: Sequence[Objective] = ()  # several: a multi-objective search, the first the metric; (): one


class CappedTPESearch(Searcher):
    """TPE over a define-by-run space; see the module docstring."""

    def __init__(self, settings: SearchSettings, metric: str, mode: str):
        super().__init__(metric=metric, mode=mode)
        self.s = settings
        self.proposed = 0
        self.rejected: list[Rejection] = []
        self.live: dict[str, optuna.trial.Trial] = {}
        self.best_at: dict[str, dict[str, float]] = {}  # several objectives: trial id -> values at its best report
        self._open(journal="")
        for point in settings.baselines:
            self.study.enqueue_trial(dict(point), skip_if_exists=True)

    # --- the Optuna study, in a journal file ------------------------------------------------------
    def _open(self, journal: str) -> None:
        """Open the study in a journal holding ``journal`` (the text of an earlier one)."""
        self._backend = MemoryJournal(journal)
        self.storage = JournalStorage(self._backend)
        modes = [o.mode for o in self.s.objectives] or [self.mode]
        self.study = optuna.create_study(storage=self.storage, study_name=STUDY_NAME,
                                         directions=["minimize" if m == "min" else "maximize" for m in modes],
                                         sampler=self._sampler(), load_if_exists=True)

    def _sampler(self) -> optuna.samplers.BaseSampler:
        # A resumed search must not draw the first run's random numbers again (random search would
        # propose its first configurations twice): the seed moves on with every proposal made.
        seed = self.s.seed + 1_000_003 * self.proposed
        if self.s.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if self.s.sampler == "grid":  # the grid's order keeps the first seed: trial k is point k, resumed or not
            return GridSearchSampler(self.s.grid, seed=self.s.seed, random_seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # group=True is "experimental"
            # multivariate + group: parameters sampled jointly, and conditional ones (gp_lambda only
            # under wgan_gp) modelled within the group of trials that have them, not independently
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.s.n_startup_trials,
                                              constant_liar=True, multivariate=True, group=True)

    def _trial(self, number: int) -> optuna.trial.Trial:
        """The running trial ``number`` of the study, to report to (public storage API only)."""
        study_id = self.storage.get_study_id_from_name(STUDY_NAME)
        return optuna.trial.Trial(self.study, self.storage.get_trial_id_from_study_id_trial_number(study_id, number))

    def __getstate__(self) -> dict:
        """Tune pickles the searcher with the Tuner: the study goes as its journal text, never as Optuna objects."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("storage", "study", "live", "_backend")}
        return {**state, "_journal": self._journal(), "_live": {k: t.number for k, t in self.live.items()}}

    def __setstate__(self, state: dict) -> None:
        journal, live = state.pop("_journal"), state.pop("_live")
        self.__dict__.update(state)
        self._open(journal)
        self.live = {k: self._trial(n) for k, n in live.items()}

    def _journal(self) -> str:
        return self._backend.text()

    # --- Tune's Searcher API ------------------------------------------------------------------------
    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.s.max_concurrent = max_concurrent
        return True  # handled here: Tune must not wrap this searcher in a ConcurrencyLimiter

    def suggest(self, trial_id: str) -> dict | str | None:
        if len(self.live) >= self.s.max_concurrent:
            return None  # ask again when a trial ends
        while self.proposed < self.s.num_samples:
            self.proposed += 1
            trial = self.study.ask()
            config = self.s.complete(sample_space(self.s.space, trial, self.s.fixed, self.s.ranges, self.s.grid))
            n_params = self.s.count_params(config)
            trial.set_user_attr(N_PARAMS, n_params)
            trial.set_constraint("param_cap", n_params - self.s.param_cap)  # feasible when <= 0
            if n_params > self.s.param_cap:
                self.rejected.append(Rejection(dict(trial.params), n_params, config))
                self.study.tell(trial.number, state=optuna.trial.TrialState.PRUNED)
                continue
            self.live[trial_id] = trial
            return config
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        trial = self.live.get(trial_id)
        value = result.get(self.metric)
        if trial is not None and _finite(value) and self.s.objectives:
            self._keep_best(trial_id, trial, result)
        elif trial is not None and _finite(value):
            with warnings.catch_warnings():  # a resumed trial may report a step its snapshot already holds
                warnings.simplefilter("ignore", UserWarning)
                trial.report(float(value), step=int(result["training_iteration"]))

    def _keep_best(self, trial_id: str, trial: optuna.trial.Trial, result: dict) -> None:
        """Several objectives: keep the objectives' values at the trial's best first-objective report so far."""
        kept = self.best_at.get(trial_id)
        value = float(result[self.metric])
        if kept is not None and (value >= kept[self.metric] if self.mode == "min" else value <= kept[self.metric]):
            return
        n_params = trial.user_attrs[N_PARAMS]  # counted when it was proposed
        self.best_at[trial_id] = {o.name: float(n_params) if o.name == N_PARAMS else result.get(o.name)
                                  for o in self.s.objectives}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self.live.pop(trial_id, None)
        best = self.best_at.pop(trial_id, None)
        if trial is None:
            return
        value = None if result is None else result.get(self.metric)
        values = None if best is None else [best[o.name] for o in self.s.objectives]
        if error or not _finite(value) or self.s.objectives and not (values and all(map(_finite, values))):
            self.study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        elif int(result.get("training_iteration", 0)) < self.s.max_t:  # stopped early by ASHA
            self.study.tell(trial.number, state=optuna.trial.TrialState.PRUNED)
        elif values:  # several objectives: the best first-objective value and the others at that report
            self.study.tell(trial.number, values)
        else:
            self.study.tell(trial.number, float(value))

    def save(self, checkpoint_path: str) -> None:
        """The search state as JSON: the Optuna journal's text (the study), counts, rejections and the
        running trials' numbers. The journal is also written beside it as ``optuna_journal.log``, which
        ``optuna-dashboard`` and ``JournalFileBackend`` open."""
        journal = self._journal()
        state = {"version": STATE_VERSION, "study_name": STUDY_NAME, "journal": journal, "proposed": self.proposed,
                 "rejected": [asdict(x) for x in self.rejected], "live": {k: t.number for k, t in self.live.items()},
                 "best_at": self.best_at}
        folder = os.path.dirname(os.path.abspath(checkpoint_path))
        _write_atomic(os.path.join(folder, JOURNAL_FILE), journal)
        with open(checkpoint_path, "w", encoding="utf-8") as f:  # Tune writes it to a temporary name and renames it
            json.dump(state, f, default=str)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, encoding="utf-8") as f:
            state = json.load(f)
        self.proposed = int(state["proposed"])
        self.rejected = [Rejection(**x) for x in state["rejected"]]
        self.best_at = state.get("best_at", {})  # saved before several objectives: none
        self._open(state["journal"])
        # Trials that were running when the driver died: Tune resumes them under the same ids.
        self.live = {k: self._trial(n) for k, n in state["live"].items()}


class MemoryJournal(BaseJournalBackend):
    """Optuna's journal in memory, as the lines ``JournalFileBackend`` would write (one compact JSON object each)."""

    def __init__(self, text: str = ""):
        self.lines = [line for line in text.splitlines() if line]

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        for line in self.lines[log_number_from:]:
            yield json.loads(line)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.lines.extend(json.dumps(log, separators=(",", ":")) for log in logs)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
