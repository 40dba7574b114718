"""The GAN family's figures: G and D losses with their equilibrium values beside D's outputs on real
and generated images, FID over training, class coverage with a collapse verdict and all 64
fixed-noise latents over training (:mod:`gan_health`), then the best generator's samples,
interpolations, nearest training images and a labelled cherry-picked grid (:mod:`gan_model`)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from analysis.figures import gan_health, gan_model
from analysis.figures.common import Context
from analysis.figures.family import CompareImages, FamilyAnalysis
from analysis.items import Figure, Omitted, Section
from analysis.record import Trial, distance
from trainables import metric_names as M
from trainables.metric_labels import CLASSIFIER_FEATURE_DIM

N_CLASSES = 10  # classes of the datasets the GAN studies use (MNIST, CIFAR-10): the coverage maximum


def equilibrium(loss: str, label_smoothing: float = 0.0) -> tuple[float | None, float | None]:
    """(D loss, G loss) when the generator matches the data and D is optimal, or None where undefined.

    With p_g = p_data the best discriminator cannot tell the two apart: for bce it outputs t/2 (t = 1 -
    label smoothing: 1/2 without smoothing), giving D loss -t log(t/2) - (2 - t) log(1 - t/2) (2 log 2)
    and non-saturating G loss -log(t/2) (log 2); lsgan's (a=0, b=t) optimum t/2 gives t²/4 and
    (1 - t/2)²/2; hinge's D loss is 2 for any D in [-1, 1] and wgan_gp's critic estimate is 0 (a critic
    with unit gradients also zeroes the penalty). The G losses of hinge and wgan_gp depend on the
    critic's arbitrary offset: no value.
    """
    t = 1.0 - label_smoothing
    if loss == "bce":
        return -t * math.log(t / 2) - (2 - t) * math.log(1 - t / 2), -math.log(t / 2)
    if loss == "lsgan":
        return t * t / 4, 0.5 * (1 - t / 2) ** 2
    if loss == "hinge":
        return 2.0, None
    if loss == "wgan_gp":
        return 0.0, None
    return None, None


def sections(ctx: Context) -> list[Section]:
    best = ctx.record.best_trial
    study_items = [_fid(ctx, best)]
    if best is None:
        return [Section("GAN", "", study_items + [Omitted("GAN figures of the best trial", "no trial has a finite metric")])]
    label = f"best trial {best.trial_id}"
    config = ", ".join(f"{k}={best.config.get(k)}" for k in ("loss", "depth", "width", "latent_dim", "norm_d", "n_critic",
                                                             "label_smoothing", "lr_g", "lr_d") if k in best.config)
    verdict = gan_health.collapse_verdict(best, N_CLASSES)
    items = [_losses(ctx, best, label), gan_health.coverage(ctx, best, label, N_CLASSES),
             gan_health.fixed_noise(ctx, best, label)] + gan_model.items(ctx, best, label)
    intro = (f"Run `{best.run_id}`, {best.status.replace('_', ' ')} after {best.epochs} reports; {config}. "
             f"{verdict.text}")
    return [Section("GAN: training", "", study_items), Section(f"GAN: {label}", intro, items)]


def _losses(ctx: Context, t: Trial, label: str) -> Figure | Omitted:
    title = f"{label}: discriminator and generator losses, and D's outputs"
    if not t.series(M.LOSS_D):
        return Omitted(title, "the run logged no loss_d")
    loss = str(t.config.get("loss"))
    smoothing = float(t.config.get("label_smoothing") or 0.0)
    eq_d, eq_g = equilibrium(loss, smoothing)
    fig, (ax, scores) = plt.subplots(1, 2, figsize=(12, 4.2))
    for key, color, name, eq in ((M.LOSS_D, "tab:red", "D loss", eq_d), (M.LOSS_G, "tab:blue", "G loss", eq_g)):
        if t.series(key):
            steps, values = zip(*t.series(key))
            ax.plot(steps, values, marker="o", ms=3, color=color, label=f"{name} ({key})")
        if eq is not None:
            ax.axhline(eq, color=color, ls="--", lw=1, label=f"{name} at equilibrium = {eq:.3f}")
    ax.set_xlabel("report")
    ax.set_ylabel(f"{loss} loss (mean over the report's steps)")
    ax.legend(fontsize=8)
    scores_text = gan_health.scores_panel(scores, t, loss, smoothing)
    none = [n for n, e in (("D", eq_d), ("G", eq_g)) if e is None]
    caption = (f"Left: mean {loss} discriminator loss (with the gradient penalty for wgan_gp) over the D steps of each "
               "report and mean generator loss over its G steps. Dashed: the equilibrium value, the one each loss takes "
               "when the generator's distribution equals the data's and D is optimal (bce 2 log 2 and log 2; lsgan 1/4 "
               "and 1/8; hinge D 2; wgan_gp D 0; adjusted for label smoothing).")
    if none:
        caption += (f" No equilibrium value exists for {' and '.join(none)} with {loss}: it depends on the critic's "
                    "arbitrary offset.")
    return Figure(ctx.save(fig, "gan_best_losses"), title, f"{caption} {scores_text}")


def _fid(ctx: Context, best: Trial | None) -> Figure | Omitted:
    r = ctx.record
    title = f"{distance(r, r.metric) or r.metric} over training"
    trials = [t for t in r.trials if t.series(r.metric)]
    if not trials:
        return Omitted(title, f"no trial logged {r.metric} (no feature classifier was available to the study)")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    values = []
    curves = [(r.metric, "-")] + ([] if r.selected_on_test else [(r.test_metric, "--")])
    for i, t in enumerate(trials):
        is_best = best is not None and t.run_id == best.run_id
        color = plt.get_cmap("tab10")(i % 10)
        for key, style in curves:
            if not t.series(key):
                continue
            steps, ys = zip(*t.series(key))
            values += ys
            ax.plot(steps, ys, style, marker="o", ms=3, color=color, lw=2.5 if is_best else 1, alpha=1 if is_best else 0.6,
                    label=f"{t.trial_id} ({t.config.get('loss')}){' best' if is_best else ''}" if key == r.metric else None)
    if min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("report")
    ax.set_ylabel(distance(r, r.metric) or r.metric)
    ax.legend(fontsize=7, ncol=2)
    n, dataset = trials[0].config.get("eval_samples"), trials[0].config.get("dataset", "")
    against = ("the test images (this study was recorded before the validation split and selected on them)"
               if r.selected_on_test else f"the validation images ({r.metric}, solid: what the study selects on) and "
               f"the test images ({r.test_metric}, dashed: reported only)")
    caption = (f"Fréchet distance between the features of {n} generated images (seeded latents) and of {against}, in "
               f"the {CLASSIFIER_FEATURE_DIM}-d penultimate layer of genstudy's {dataset} classifier (not Inception; lower is better), after "
               "each report of every trial; one colour per trial, the best trial bold.")
    return Figure(ctx.save(fig, "gan_fid"), title, caption)


# --- the comparison section (analysis.export --compare KEY) ------------------------------------------------
COMPARE_PANELS = (("Fréchet distance", (None, M.VAL_FID, M.TEST_FID)),  # titled with its feature space when drawn
                  ("discriminator loss", (M.LOSS_D, None, None)), ("generator loss", (M.LOSS_G, None, None)),
                  ("classes covered by the samples", (M.CLASSES_COVERED, None, None)))


@torch.no_grad()
def compare_strips(gan, cfg, x_test, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """``2 n`` samples of the trial's generator from seeded latents (the same in every row)."""
    z = torch.randn(2 * n, cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
    return (gan_model.generate(gan.generator, z),)


COMPARE_IMAGES = CompareImages("Samples", ("samples (the same z in every row)",), compare_strips)

ANALYSIS = FamilyAnalysis(sections, COMPARE_PANELS, compare_images=COMPARE_IMAGES)
