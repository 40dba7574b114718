"""Population-based training's section of the report: each mutated key's schedule over the population, and
every exploit (which trial copied which, at which report, continuing with what), from the MLflow record."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt

from analysis.figures.common import Context, html_table
from analysis.items import Figure, Omitted, Section, Table
from analysis.record import StudyRecord, Trial
from record import schema as S

LINEAGE_CSV = "pbt_lineage.csv"


def mutated_keys(record: StudyRecord) -> list[str]:
    """The keys PBT changed in this study (the parent's pbt_mutations param), in its order."""
    return [k for k in record.params.get(S.PBT_MUTATIONS, "").split(",") if k]


EXPLORE = {  # scheduler -> (what ran, how it chose the new values)
    "pbt": ("synchronous, Ray Tune's PopulationBasedTraining", "x0.8 or x1.2, or a fresh draw with probability 1/4"),
    "pb2": ("synchronous, Ray Tune's PB2: Population Based Bandits",
            "to the values a Gaussian-process bandit expected to improve the metric most, from every trial's change "
            "per report so far; the donor's values at the first exploit, before any change was seen"),
}


def exploits(trial: Trial) -> list[dict]:
    """The trial's exploits from its lineage tag (the latest that fit a tag; all are in its pbt_lineage.json)."""
    return json.loads(trial.tags.get(S.PBT_LINEAGE, "[]"))


def sections(ctx: Context) -> list[Section]:
    r = ctx.record
    keys = mutated_keys(r)
    if r.scheduler not in S.POPULATION_BASED or not keys:
        return []
    trials = [t for t in r.trials if t.run_id is not None]
    names = {t.trial_id: f"trial {i + 1} ({t.trial_id})" for i, t in enumerate(trials)}
    rows = [{"trial": names[t.trial_id], "report": e["report"], "copied from": names.get(e["donor_trial"], e["donor_trial"]),
             "continued with": ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(e["changed"].items()) if k in keys) or "-",
             "other keys copied": ", ".join(sorted(k for k in e["changed"] if k not in keys)) or "-"}
            for t in trials for e in exploits(t)]
    interval = r.params.get(S.PBT_INTERVAL, "?")
    how = EXPLORE[r.scheduler]
    intro = (f"Population-based training ({how[0]}): every {interval} reports the bottom quarter of the population by "
             f"{r.metric} copied a top-quarter trial's checkpoint (its weights and whole configuration) and changed "
             f"{', '.join(keys)} ({how[1]}). {len(rows)} exploits in {len(trials)} trials. A trial's MLflow params "
             f"are its configuration as it started; its tags {S.PBT_EXPLOITS} and {S.PBT_LINEAGE} and metrics "
             f"{S.PBT_PREFIX}<key> give its history.")
    return [Section("Population-based training", intro, [_schedule(ctx, trials, keys, names), _lineage(ctx, rows)])]


def _schedule(ctx: Context, trials: list[Trial], keys: list[str], names: dict[str, str]) -> Figure | Omitted:
    title = "PBT: each mutated key over training, per trial"
    drawn = [t for t in trials if any(t.series(S.pbt_value(k)) for k in keys)]
    if not drawn:
        return Omitted(title, f"no trial logged a {S.PBT_PREFIX}<key> metric")
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.1 * len(keys) + 0.6), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for t in drawn:
            points = t.series(S.pbt_value(key))
            if points:
                steps, values = zip(*points)
                line, = ax.step(steps, values, where="post", marker="o", ms=3, label=names[t.trial_id])
                for e in exploits(t):
                    if e["report"] + 1 in steps:  # the first report trained with the copied weights
                        ax.plot(e["report"] + 1, values[steps.index(e["report"] + 1)], marker="*", ms=11,
                                color=line.get_color())
        ax.set_ylabel(key)
        if key.startswith("lr"):
            ax.set_yscale("log")
    axes[-1, 0].set_xlabel("report")
    axes[0, 0].legend(fontsize=7, ncol=2)
    caption = (f"The value each trial trained with at each report ({S.PBT_PREFIX}<key> metrics). A star marks the "
               f"first report after the trial copied another trial's checkpoint; the value there is the one it "
               f"continued with, chosen as the section's introduction says.")
    return Figure(ctx.save(fig, "pbt_schedule"), title, caption)


def _lineage(ctx: Context, rows: list[dict]) -> Table | Omitted:
    title = "PBT exploits"
    if not rows:
        return Omitted(title, "no trial copied another (the population never reached a perturbation with two "
                       "finite scores)")
    import pandas as pd

    pd.DataFrame(rows).to_csv(ctx.out / LINEAGE_CSV, index=False)
    caption = ("Each row: at the end of `report`, the trial stopped training its own weights and continued from "
               "`copied from`'s checkpoint of that report, with the changed values shown (and any other keys, "
               "e.g. the architecture, copied with the weights).")
    return Table(title, caption, html_table(rows), LINEAGE_CSV)


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
