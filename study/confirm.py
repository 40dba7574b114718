"""Confirmation of the winners: the top K configurations of a search trained again with fresh seeds.

Differences between the best trials of a search are often smaller than the spread between seeds of
one configuration. After the search, the K configurations with the best validation metric are
trained again, each with ``n_seeds`` seeds the search never used, as child runs tagged
``phase=confirm`` (Ray runs them in parallel like any trials, to the end: no early stopping). The
parent run then records, per configuration, the mean ± standard deviation over those seeds of the
validation metric (and, reported beside it, of its test counterpart), ranks the configurations by
the mean, and says whether that order differs from the search's. The family's final metrics
(``Family.final_metrics``: the VAE's importance-weighted NLL), measured on each seed's kept checkpoint
(:func:`study.final.measure_runs`), are summarised beside them the same way.

The confirmation runs in its own Tune experiment (``<study run>-confirm``) beside the search's, so
a study killed during it resumes it without running the search again.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from record import schema as S
from record.reader import Outcome
from trainables.metric_names import FINAL_METRICS, STANDARD_ERROR_OF

SEED_STRIDE = 1_000_003  # fresh seeds: far from the search's seed, the same on every resume


@dataclass(frozen=True)
class Candidate:
    """One configuration to confirm: its rank and value in the search, and its full config."""

    rank: int
    trial_id: str
    run_id: str
    search_value: float
    config: dict[str, Any]


def fresh_seeds(seed: int, n_seeds: int) -> list[int]:
    """``n_seeds`` seeds the search (which trains every trial with ``seed``) never used."""
    return [seed + SEED_STRIDE * (i + 1) for i in range(n_seeds)]


def candidates(outcomes: dict[str, Outcome], configs: dict[str, dict], k: int, mode: str) -> list[Candidate]:
    """The ``k`` best distinct configurations among the search trials that trained (finished or stopped early).

    ``outcomes``: trial id -> how it ended (``record.reader.outcomes``); ``configs``: trial id -> full config.
    A configuration proposed twice (the same values) counts once, at its better value.
    """
    scored = [(t, o) for t, o in outcomes.items() if o.scored]
    scored.sort(key=lambda item: item[1].best, reverse=mode == "max")
    out: list[Candidate] = []
    seen: set[str] = set()
    for trial_id, o in scored:
        key = config_key(configs[trial_id])
        if key in seen:
            continue
        seen.add(key)
        out.append(Candidate(len(out) + 1, trial_id, o.run_id, o.best, dict(configs[trial_id])))
        if len(out) == k:
            break
    return out


def config_key(config: dict[str, Any]) -> str:
    """A configuration's identity without its seed: the seeds of one configuration share it."""
    return json.dumps({k: v for k, v in sorted(config.items()) if k != "seed"}, default=str)


def points(cands: list[Candidate], seeds: list[int]) -> list[dict[str, Any]]:
    """Every candidate's config with each fresh seed, candidate-major (rank 1's seeds first)."""
    return [{**c.config, "seed": s} for c in cands for s in seeds]


def point_key(config: dict[str, Any]) -> str:
    """A full configuration's identity, seed included: one confirmation trial."""
    return json.dumps(dict(sorted(config.items())), default=str)


def point_tags(cands: list[Candidate], seeds: list[int]) -> dict[str, dict[str, str]]:
    """``point_key(config) -> tags`` of every confirmation trial's MLflow run: the phase, and which search
    trial (by id and rank) and which seed it is."""
    return {point_key({**c.config, "seed": s}): {S.PHASE: S.CONFIRM, S.CONFIRM_RANK: str(c.rank),
                                                 S.CONFIRM_OF: c.trial_id, S.CONFIRM_SEED: str(s)}
            for c in cands for s in seeds}


@dataclass(frozen=True)
class Confirmed:
    """A candidate's confirmation: the best validation value of each seed's run, and its test counterpart;
    ``finals``: each final metric's value on the seeds' kept checkpoints (name -> values, the names measured)."""

    rank: int  # in the search
    trial_id: str
    search_value: float
    values: list[float]
    tests: list[float]
    config: dict[str, Any]
    finals: dict[str, list[float]] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return _mean(self.values)

    @property
    def sd(self) -> float:
        return _sd(self.values)

    @property
    def test_mean(self) -> float:
        return _mean(self.tests)

    @property
    def test_sd(self) -> float:
        return _sd(self.tests)

    def final_stats(self) -> dict[str, tuple[float, float]]:
        """Each final metric's (mean, sd) over the seeds."""
        return {name: (_mean(v), _sd(v)) for name, v in self.finals.items()}


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else math.nan


def summarise(cands: list[Candidate], runs: dict[str, Outcome], mode: str,
              finals: Mapping[str, Mapping[str, float]] | None = None) -> list[Confirmed]:
    """Candidates with their seeds' results, best mean first (``runs``: the confirmation's outcomes; ``finals``:
    run id -> the final metrics measured on that run's kept checkpoint)."""
    finals = finals or {}
    rows = []
    for c in cands:
        mine = [o for o in runs.values() if o.confirm_of == c.trial_id and o.best is not None and o.status == S.FINISHED]
        measured = [finals.get(o.run_id, {}) for o in mine]
        by_name = {name: [m[name] for m in measured if name in m] for name in FINAL_METRICS}
        rows.append(Confirmed(c.rank, c.trial_id, c.search_value, [o.best for o in mine],
                              [o.test for o in mine if o.test is not None], c.config,
                              {name: v for name, v in by_name.items() if v}))
    finite = [r for r in rows if r.values]
    rest = [r for r in rows if not r.values]
    return sorted(finite, key=lambda r: r.mean, reverse=mode == "max") + rest


def order_changed(rows: list[Confirmed]) -> bool:
    """The confirmation ranks the configurations in another order than the search did."""
    ranked = [r.rank for r in rows if r.values]
    return ranked != sorted(ranked)


def record(writer, parent_id: str, rows: list[Confirmed], metric: str, test_metric: str, n_seeds: int) -> None:
    """The confirmation on the parent run: per configuration (by its search rank) the mean and sd of the
    metric, its test counterpart and the final metrics, the best by the mean, whether the order changed, and
    ``confirmation.json``."""
    values = {}
    for r in rows:
        finals = [(name, stat, value) for name, (mean, sd) in r.final_stats().items()
                  for stat, value in (("mean", mean), ("sd", sd))]
        for name, stat, value in ((metric, "mean", r.mean), (metric, "sd", r.sd), (test_metric, "mean", r.test_mean),
                                  (test_metric, "sd", r.test_sd), *finals):
            if math.isfinite(value):
                values[S.confirm_metric(r.rank, name, stat)] = value
    best = next((r for r in rows if r.values), None)
    doc = {"metric": metric, "test_metric": test_metric, "seeds_per_config": n_seeds,
           "order_changed": order_changed(rows),
           "rows": [{**asdict(r), "mean": r.mean, "sd": r.sd, "test_mean": r.test_mean, "test_sd": r.test_sd,
                     "finals_mean": {k: v[0] for k, v in r.final_stats().items()},
                     "finals_sd": {k: v[1] for k, v in r.final_stats().items()}} for r in rows]}
    writer.confirmation(parent_id, values, order_changed(rows), n_seeds, None if best is None else best.trial_id, doc)


def summary_lines(rows: list[Confirmed], metric: str, test_metric: str, n_seeds: int) -> list[str]:
    """The confirmation as the end-of-run summary prints it."""
    measured = "; final metrics measured on each seed's kept checkpoint" if any(r.finals for r in rows) else ""
    lines = [f"confirmation: the top {len(rows)} configurations, {n_seeds} fresh seeds each (mean ± sd of the best "
             f"{metric} per seed; {test_metric} reported beside{measured}):"]
    for i, r in enumerate(rows, start=1):
        if not r.values:
            lines.append(f"  {i}. trial {r.trial_id} (search rank {r.rank}): no seed finished")
            continue
        test = f"   {test_metric} {_pm(r.test_mean, r.test_sd)}" if r.tests else ""
        lines.append(f"  {i}. trial {r.trial_id} (search rank {r.rank}, search {metric} {r.search_value:.3f}): "
                     f"{metric} {_pm(r.mean, r.sd)} over {len(r.values)} seeds{test}{_finals_text(r)}")
    if order_changed(rows):
        lines.append("  the order changed between the search and the confirmation: the search's best is not the "
                     "best by the mean over seeds")
    else:
        lines.append("  the order held: the search's ranking agrees with the mean over seeds")
    return lines


def _finals_text(r: Confirmed) -> str:
    """Per final estimate: ``   test_nll_iw 88.123 ± 0.400 over 2 seeds (its standard error within a run 0.310 on
    average)``; '' when none was measured."""
    out = ""
    stats = r.final_stats()
    standard_errors = set(STANDARD_ERROR_OF.values())
    for name, (mean, sd) in stats.items():
        if name in standard_errors:
            continue
        se = STANDARD_ERROR_OF.get(name)
        within = (f" (its standard error within a run {stats[se][0]:.3f} on average)" if se in stats else "")
        out += f"   {name} {_pm(mean, sd)} over {len(r.finals[name])} seeds{within}"
    return out


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.3f} ± {sd:.3f}" if math.isfinite(sd) else f"{mean:.3f}"
