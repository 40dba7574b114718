"""Hyperparameter importance: Optuna's fANOVA on the trials of a study, read back from MLflow.

fANOVA (Hutter et al. 2014) fits a random forest from the searched parameters to the metric and
splits the forest's variance into the parts each parameter explains alone. It needs comparable
values: the trials' final values when enough trials finished, otherwise every trial's value at the
first ASHA rung (the same budget for all of them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import optuna

from analysis.record import StudyRecord
from record import schema as S

MIN_TRIALS = 5  # fewer points than this and the forest explains noise
LOG_RATIO = 100.0  # a positive numeric parameter spanning two decades is treated as log-scaled


@dataclass(frozen=True)
class Importance:
    values: dict[str, float]  # parameter -> share of the metric's variance (sums to 1)
    n_trials: int
    target: str  # what was explained, in words, for the caption


def trial_values(record: StudyRecord, first_rung: int | None) -> tuple[list[tuple[dict, float]], str]:
    """(config, value) pairs fANOVA should explain, and a description of the value."""
    finished = [(t.config, t.series(record.metric)[-1][1]) for t in record.trials
                if t.status == S.FINISHED and t.series(record.metric)]
    if len(finished) >= MIN_TRIALS or first_rung is None:
        return finished, f"final {record.metric} of the {len(finished)} finished trials"
    at_rung = [(t.config, t.at(record.metric, first_rung)) for t in record.trials]
    at_rung = [(c, v) for c, v in at_rung if v is not None]
    return at_rung, (f"{record.metric} after {first_rung} report(s) (the first ASHA rung: the same budget "
                     f"for the {len(at_rung)} trials that reached it; only {len(finished)} finished)")


def _distribution(values: list) -> optuna.distributions.BaseDistribution:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        low, high = min(values), max(values)
        if all(isinstance(v, int) for v in values):
            return optuna.distributions.IntDistribution(int(low), int(high), log=low > 0 and high / low >= LOG_RATIO)
        return optuna.distributions.FloatDistribution(float(low), float(high), log=low > 0 and high / low >= LOG_RATIO)
    return optuna.distributions.CategoricalDistribution(sorted({str(v) for v in values}))


def fanova(record: StudyRecord, first_rung: int | None, seed: int = 0) -> Importance | None:
    """fANOVA importances of the searched parameters, or None when there are too few trials.

    Raises nothing for small studies: the caller reports why the figure is omitted.
    """
    pairs, target = trial_values(record, first_rung)
    params = record.searched
    if len(pairs) < 3 or not params or len({v for _, v in pairs}) < 2:
        return None
    dists = {k: _distribution([c[k] for c, _ in pairs]) for k in params}
    params = [k for k in params if not _constant(dists[k])]
    if not params:
        return None
    direction = "minimize" if record.mode == "min" else "maximize"
    study = optuna.create_study(direction=direction)
    for config, value in pairs:
        values = {k: str(config[k]) if isinstance(dists[k], optuna.distributions.CategoricalDistribution)
                  else config[k] for k in params}
        study.add_trial(optuna.trial.create_trial(params=values, distributions={k: dists[k] for k in params},
                                                  value=value))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    raw = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
    values = {k: float(v) for k, v in raw.items() if math.isfinite(v)}
    return Importance(values, len(pairs), target) if values else None


def _constant(d: optuna.distributions.BaseDistribution) -> bool:
    if isinstance(d, optuna.distributions.CategoricalDistribution):
        return len(d.choices) < 2
    return d.low == d.high
