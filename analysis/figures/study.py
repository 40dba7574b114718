"""Study-level figures, for every family: importance, metric against each searched parameter,
parallel coordinates, and the ASHA picture (curves with rungs, reports run per trial)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from analysis import importance
from analysis.figures.common import STATUS_COLORS, Context
from analysis.items import Figure, Omitted, Section
from analysis.leaderboard import asha_rungs
from analysis.record import Trial, label, nelbo_caption
from record import schema as S
from record.objectives import non_dominated


def sections(ctx: Context) -> list[Section]:
    """The study section: every figure here is drawn from the MLflow record alone."""
    r = ctx.record
    # PBT stops no trial early (its figures: analysis.figures.pbt)
    rungs = [] if r.scheduler in S.POPULATION_BASED else asha_rungs(r.grace_period, r.reduction_factor, r.max_reports)
    items = [_importance(ctx, rungs), _metric_vs_params(ctx), _parallel(ctx), _asha_curves(ctx, rungs),
             _epochs(ctx, rungs), _pareto(ctx)]
    intro = (f"{len([t for t in r.trials if t.run_id])} trials of `{r.study}` (parent run "
             f"`{r.parent_run_id}`), metric `{r.metric}` ({r.mode}imised). Searched parameters: "
             f"{', '.join(r.searched) or 'none'}.{nelbo_caption(r)}")
    return [Section("Study", intro, items)]


def encode(values: list) -> tuple[np.ndarray, list[str] | None, bool]:
    """Parameter values -> (numbers to plot, category labels or None, use a log axis)."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        x = np.asarray(values, dtype=float)
        positive = x[x > 0]
        log = len(positive) == len(x) and len(x) > 1 and x.max() / x.min() >= 50
        return x, None, log
    labels = sorted({str(v) for v in values})
    return np.asarray([labels.index(str(v)) for v in values], dtype=float), labels, False


def _importance(ctx: Context, rungs: list[int]) -> Figure | Omitted:
    title = "Hyperparameter importance (fANOVA)"
    r = ctx.record
    with ctx.progress.step("fANOVA importance"):
        imp = importance.fanova(r, rungs[0] if rungs else None, seed=ctx.options.seed)
    if imp is None:
        return Omitted(title, "fewer than 3 trials with a comparable value of the metric, or no parameter varied: "
                              "fANOVA would fit noise")
    names = sorted(imp.values, key=imp.values.get)
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    ax.barh(names, [imp.values[n] for n in names], color="tab:blue")
    ax.set_xlabel(f"share of the variance of {label(r, r.metric)} explained (fANOVA)")
    ax.set_xlim(0, 1)
    for i, n in enumerate(names):
        ax.text(imp.values[n] + 0.01, i, f"{imp.values[n]:.2f}", va="center", fontsize=8)
    caption = (f"Optuna's fANOVA evaluator (random forest of 64 trees, seed {ctx.options.seed}) fitted from the searched "
               f"parameters to the {imp.target}; bars are each parameter's share of the variance (normalised to sum "
               f"to 1). With {imp.n_trials} trials this is a rough ranking, not a measurement.")
    return Figure(ctx.save(fig, "study_importance"), title, caption)


def _final(t: Trial, metric: str) -> float | None:
    s = t.series(metric)
    return s[-1][1] if s else None


def _metric_vs_params(ctx: Context) -> Figure | Omitted:
    title = f"{ctx.record.metric} against each searched parameter"
    r = ctx.record
    trials = [t for t in r.trials if _final(t, r.metric) is not None]
    if not r.searched or not trials:
        return Omitted(title, "no searched parameter or no trial logged the metric")
    n = len(r.searched)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    y = [_final(t, r.metric) for t in trials]
    for ax, key in zip(axes.flat, r.searched):
        x, labels, log = encode([t.config.get(key) for t in trials])
        for status in STATUS_COLORS:
            idx = [i for i, t in enumerate(trials) if t.status == status]
            if idx:
                ax.scatter(x[idx], [y[i] for i in idx], c=STATUS_COLORS[status], s=28, label=status.replace("_", " "))
        if labels:
            ax.set_xticks(range(len(labels)), labels)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(f"last {label(r, r.metric)}")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    caption = (f"Each point is a trial: its last logged {r.metric} against the value of one searched parameter. Colour "
               "is the trial's status: a trial stopped early by ASHA shows an early (worse) value, so compare it with "
               "the leaderboard's equal-budget columns.")
    return Figure(ctx.save(fig, "study_metric_vs_params"), title, caption)


def _parallel(ctx: Context) -> Figure | Omitted:
    title = "Parallel coordinates"
    r = ctx.record
    trials = [t for t in r.trials if _final(t, r.metric) is not None]
    if not r.searched or len(trials) < 2:
        return Omitted(title, "fewer than two trials logged the metric, or no parameter was searched")
    axes_names = [*r.searched, label(r, r.metric)]
    columns = []
    for key in r.searched:
        x, labels, log = encode([t.config.get(key) for t in trials])
        x = np.log10(x) if log else x
        columns.append((x, labels, log))
    metric = np.asarray([_final(t, r.metric) for t in trials])
    columns.append((metric, None, False))
    fig, ax = plt.subplots(figsize=(1.3 * len(axes_names) + 2, 4.5))
    norm = plt.Normalize(metric.min(), metric.max())
    cmap = plt.get_cmap("viridis_r" if r.mode == "min" else "viridis")
    scaled = []
    for x, _, _ in columns:
        span = x.max() - x.min()
        scaled.append((x - x.min()) / span if span > 0 else np.full_like(x, 0.5))
    scaled = np.stack(scaled, axis=1)  # (trials, axes)
    for i in np.argsort(-metric if r.mode == "min" else metric):  # best drawn last, on top
        ax.plot(range(len(axes_names)), scaled[i], color=cmap(norm(metric[i])), lw=1.5, alpha=0.85)
    for j, (x, labels, log) in enumerate(columns):
        ax.axvline(j, color="black", lw=0.8)
        lo, hi = (10 ** x.min(), 10 ** x.max()) if log else (x.min(), x.max())
        low_text = labels[int(x.min())] if labels else f"{lo:.3g}"
        high_text = labels[int(x.max())] if labels else f"{hi:.3g}"
        ax.text(j, -0.06, low_text, ha="center", va="top", fontsize=7)
        ax.text(j, 1.06, high_text, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(axes_names)), axes_names, rotation=30, ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.15)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=f"last {label(r, r.metric)}")
    caption = ("One line per trial through its value of each searched parameter (each axis scaled from its smallest to "
               "its largest value, printed below and above; categories in alphabetical order; log-scaled when a "
               f"positive parameter spans more than 50x) and its last {r.metric}; colour is the metric, best on top.")
    return Figure(ctx.save(fig, "study_parallel_coordinates"), title, caption)


def _asha_curves(ctx: Context, rungs: list[int]) -> Figure | Omitted:
    title = f"{ctx.record.metric} per report with the ASHA rungs"
    r = ctx.record
    trials = [t for t in r.trials if t.series(r.metric)]
    if not trials:
        return Omitted(title, "no trial logged the metric")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for t in trials:
        steps, values = zip(*t.series(r.metric))
        ax.plot(steps, values, marker="o", ms=3, color=STATUS_COLORS.get(t.status, "black"), alpha=0.8)
    for rung in rungs:
        ax.axvline(rung, color="gray", ls="--", lw=0.8)
    handles = [plt.Line2D([], [], color=c, marker="o", label=s.replace("_", " ")) for s, c in STATUS_COLORS.items()
               if any(t.status == s for t in trials)]
    handles.append(plt.Line2D([], [], color="gray", ls="--", label="ASHA rung"))
    ax.legend(handles=handles, fontsize=8)
    ax.set_xlabel("report (epoch for VAEs)")
    ax.set_ylabel(label(r, r.metric))
    values = [v for t in trials for _, v in t.series(r.metric)]
    if min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    caption = (f"{r.metric} of every trial after each report, coloured by status. Dashed lines are ASHA's rungs "
               f"({', '.join(map(str, rungs))}: grace period {r.grace_period}, reduction factor {r.reduction_factor}); "
               "at each rung ASHA stops a trial outside the best 1/reduction-factor of those recorded there.")
    return Figure(ctx.save(fig, "study_asha_curves"), title, caption)


def _epochs(ctx: Context, rungs: list[int]) -> Figure | Omitted:
    title = "Reports run per trial (ASHA rungs)"
    r = ctx.record
    trials = [t for t in r.trials if t.run_id is not None]
    if not trials:
        return Omitted(title, "no trial ran")
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(trials) + 1.4))
    labels = [t.trial_id for t in trials]
    ax.barh(labels, [t.epochs for t in trials], color=[STATUS_COLORS.get(t.status, "black") for t in trials])
    for rung in rungs:
        ax.axvline(rung, color="gray", ls="--", lw=0.8)
    ax.set_xlabel(f"reports run (of {r.max_reports})")
    ax.invert_yaxis()
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, label=s.replace("_", " ")) for s, c in STATUS_COLORS.items()
               if any(t.status == s for t in trials)]
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    caption = ("Reports (epochs for VAEs) each trial ran before it finished, was stopped by ASHA at a rung (dashed), or "
               "failed; the count comes from the trial's epochs_run tag.")
    return Figure(ctx.save(fig, "study_epochs_per_trial"), title, caption)


def pareto_front(points: list[tuple[float, float]], mode: str) -> list[int]:
    """Indices of the points (size, value) no other point beats: at most as large and at least as good,
    one of them strictly, smallest first. ``mode`` says whether a lower (min) or higher (max) value is better."""
    return sorted(non_dominated(points, ("min", mode)), key=lambda i: points[i][0])


def _pareto(ctx: Context) -> Figure | Omitted:
    title = f"Quality against size: best {ctx.record.metric} against parameters"
    r = ctx.record
    trials = [t for t in r.scored() if t.n_params]
    if len(trials) < 2:
        return Omitted(title, "fewer than two trials trained with a parameter count and a finite metric")
    points = [(float(t.n_params), t.best(r.metric, r.mode)[1]) for t in trials]
    front = pareto_front(points, r.mode)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for status in STATUS_COLORS:
        idx = [i for i, t in enumerate(trials) if t.status == status]
        if idx:
            ax.scatter([points[i][0] for i in idx], [points[i][1] for i in idx], c=STATUS_COLORS[status], s=30,
                       label=status.replace("_", " "), zorder=2)
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "k-", lw=1.2, zorder=1,
            drawstyle="steps-post", label="Pareto front")
    for i in front:
        ax.annotate(trials[i].trial_id, points[i], textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (n_params, log scale)")
    ax.set_ylabel(f"best {label(r, r.metric)}")
    ax.legend(fontsize=8)
    caption = (f"Each trial that trained: its best {r.metric} against its parameter count. The "
               f"line joins the Pareto front ({len(front)} trials): no other trial is both at most as large and at "
               "least as good. A trial stopped early by ASHA sits at an earlier, worse point of its training."
               + (" The study's own Pareto front (the table at the top) counts only the trials that finished."
                  if r.objectives else ""))
    return Figure(ctx.save(fig, "study_pareto"), title, caption)
