"""The DDPM family's figures: the study metric over training for every trial, then for the best trial
its losses, its samples over training (from the run's artifacts), and the figures drawn with its
EMA U-Net (:mod:`ddpm_model`: samples, interpolations, a labelled cherry-picked grid, nearest
training images) and the memorisation check (:mod:`ddpm_memorisation`)."""

from __future__ import annotations


import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from analysis.figures import ddpm_model
from analysis.figures.common import Context, save_grids_over_training
from analysis.figures.family import FamilyAnalysis
from analysis.items import Figure, Omitted, Section
from analysis.record import Trial, label
from trainables import metric_names as M

METRIC_LABELS = {M.VAL_LOSS: "validation L_simple (lower is better)"}


def sections(ctx: Context) -> list[Section]:
    best = ctx.record.best_trial
    training = [_metric_curves(ctx, best)]
    if best is None:
        return [Section("DDPM", "", training + [Omitted("DDPM figures of the best trial", "no trial has a finite metric")])]
    label = f"best trial {best.trial_id}"
    keys = ("dataset", "image_size", "base_channels", "channel_mult", "num_res_blocks", "attention_resolutions",
            "dropout", "schedule", "lr", "ema_decay", "ddim_steps", "ddim_eta", "fid_features")
    config = ", ".join(f"{k}={best.config.get(k)}" for k in keys if k in best.config)
    intro = (f"Run <code>{best.run_id}</code>, {best.status.replace('_', ' ')} after {best.epochs} reports; {config}. "
             "Every image below comes from the exponential moving average of its weights (the network it was scored with).")
    items = [_losses(ctx, best, label), _samples_over_training(ctx, best, label)] + ddpm_model.items(ctx, best, label)
    return [Section("DDPM: training", "", training), Section(f"DDPM: {label}", intro, items)]


def _metric_curves(ctx: Context, best: Trial | None) -> Figure | Omitted:
    metric = ctx.record.metric
    title = f"{metric} over training"
    trials = [t for t in ctx.record.trials if t.series(metric)]
    if not trials:
        return Omitted(title, f"no trial logged {metric}")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for t in trials:
        steps, values = zip(*t.series(metric))
        is_best = best is not None and t.run_id == best.run_id
        ax.plot(steps, values, marker="o", ms=3, lw=2.5 if is_best else 1, alpha=1 if is_best else 0.6,
                label=f"{t.trial_id} (width {t.config.get('base_channels')}, {t.config.get('schedule')})"
                      f"{' best' if is_best else ''}")
    values = [v for t in trials for _, v in t.series(metric)]
    if min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False)  # FIDs in classifier features can be large and close together
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("report")
    ax.set_ylabel(METRIC_LABELS.get(metric) or f"{label(ctx.record, metric)}, to the validation images (lower is better)")
    ax.legend(fontsize=7, ncol=2)
    cfg = trials[0].config
    if metric == M.VAL_FID:
        space = {"classifier": f"the penultimate layer of genstudy's {cfg.get('dataset')} classifier (not Inception)",
                 "inception": "the FID Inception-v3 network's pool features"}.get(str(cfg.get("fid_features")), "")
        how = (f"Fréchet distance between {cfg.get('eval_samples')} DDIM samples ({cfg.get('ddim_steps')} steps, the same "
               f"initial noises at every report) and the validation images, in {space}")
    else:
        how = ("Ho et al.'s L_simple (mean squared error of the noise prediction) on held-out validation images at "
               "seeded time steps and noise, the same for every trial")
    return Figure(ctx.save(fig, "ddpm_metric"), title, f"{how}, after each report of every trial; the best trial is bold.")


def _losses(ctx: Context, t: Trial, label: str) -> Figure | Omitted:
    title = f"{label}: denoising loss"
    if not t.series(M.TRAIN_LOSS):
        return Omitted(title, "the run logged no train_loss")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, name in ((M.TRAIN_LOSS, "training (mean over the report's steps)"), (M.VAL_LOSS, "validation (seeded)"),
                      (M.TEST_LOSS, "test (seeded, reported only)")):
        if t.series(key):
            steps, values = zip(*t.series(key))
            ax.plot(steps, values, marker="o", ms=3, label=f"{key}: {name}")
    ax.set_xlabel("report")
    ax.set_ylabel("L_simple: mean (ε - ε_θ)² per pixel")
    ax.legend(fontsize=8)
    caption = ("Ho et al.'s L_simple with t uniform over the T steps. The training value averages the trained network's "
               "loss over each report's steps; validation and test use the EMA network on the same seeded (t, noise) "
               "pairs at every report and in every trial. A network that predicts zero noise scores 1.")
    return Figure(ctx.save(fig, "ddpm_best_losses"), title, caption)


def _samples_over_training(ctx: Context, t: Trial, label: str) -> Figure | Omitted:
    title = f"{label}: samples over training"
    path = save_grids_over_training(ctx, t.run_id, "samples", int(t.config.get("image_size", 32)),
                                    "ddpm_best_samples_over_training")
    if path is None:
        return Omitted(title, "the run logged no 'samples' images")
    caption = ("DDIM samples of the EMA network from the same 8 initial noises (seed = the trial's seed + 10,007) at "
               "every report, one row per report, from the run's 'samples' images.")
    return Figure(path, title, caption)

ANALYSIS = FamilyAnalysis(sections)
