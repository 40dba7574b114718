"""GAN health, visible: class coverage over training with a stated collapse verdict, D's mean
outputs on real and generated images beside their optimum, and the whole 64-latent fixed-noise grid
over training.

Collapse rule (named in every caption that uses it): at the last report, mode collapse is detected
when the feature classifier predicts fewer than all K classes among the trial's evaluation samples,
or when the entropy of its predicted-class histogram is below 90% of its maximum log K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.common import Context, image_panel, read_png
from analysis.items import Figure, Omitted
from analysis.record import Trial
from trainables import metric_names as M

ENTROPY_FRACTION = 0.9  # of log K: below it the class histogram is called collapsed
MAX_GRIDS = 12  # fixed-noise grids shown; evenly spaced over the reports, first and last included
RULE = (f"collapse is detected when, at the last report, the classifier predicts fewer than all K classes among the "
        f"evaluation samples or the predicted-class entropy is below {ENTROPY_FRACTION:.0%} of log K")


def d_optimum(loss: str, label_smoothing: float = 0.0) -> float | None:
    """D's mean output on real and on generated images when p_g = p_data and D is optimal, as
    ``d_real`` / ``d_fake`` report it (bce: a probability; lsgan: the raw score), or None.

    bce with real target t = 1 - smoothing: D*(x) = t p_data / (p_data + p_g) = t/2 (1/2 without
    smoothing); lsgan with targets 0 and t: D* = t/2. hinge and wgan_gp critics have an arbitrary
    offset: only their gap d_real - d_fake has an equilibrium value, 0.
    """
    if loss in ("bce", "lsgan"):
        return (1.0 - label_smoothing) / 2
    return None


@dataclass(frozen=True)
class Verdict:
    detected: bool | None  # None: the trial logged no class coverage
    text: str


def collapse_verdict(trial: Trial, n_classes: int) -> Verdict:
    """Whether mode collapse is detected by :data:`RULE`, with the numbers, in one sentence."""
    covered, entropy = trial.series(M.CLASSES_COVERED), trial.series(M.CLASS_ENTROPY)
    if not covered or not entropy:
        return Verdict(None, "Mode collapse cannot be judged: the trial logged no class coverage (no feature "
                             "classifier was available to the study).")
    report, k = covered[-1]
    h = dict(entropy).get(report, entropy[-1][1])
    h_max = math.log(n_classes)
    detected = k < n_classes or h < ENTROPY_FRACTION * h_max
    low_report, low_k = min(covered, key=lambda p: (p[1], p[0]))
    during = (f" During training the fewest classes covered was {int(low_k)} (report {low_report})."
              if low_k < n_classes else " Every report covered all classes.")
    return Verdict(detected, f"Mode collapse {'DETECTED' if detected else 'not detected'} at the last report "
                             f"({report}): {int(k)} of {n_classes} classes predicted, class entropy {h:.3f} of at most "
                             f"{h_max:.3f} nats ({h / h_max:.0%}).{during} Rule: {RULE}.")


def coverage(ctx: Context, trial: Trial, label: str, n_classes: int) -> Figure | Omitted:
    title = f"{label}: class coverage over training"
    verdict = collapse_verdict(trial, n_classes)
    if verdict.detected is None:
        return Omitted(title, verdict.text)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    steps, values = zip(*trial.series(M.CLASS_ENTROPY))
    left.plot(steps, values, marker="o", ms=3, color="tab:purple", label="class entropy (class_entropy)")
    left.axhline(math.log(n_classes), color="tab:purple", ls="--", lw=1, label=f"maximum, log {n_classes}")
    left.axhline(ENTROPY_FRACTION * math.log(n_classes), color="tab:red", ls=":", lw=1,
                 label=f"collapse threshold, {ENTROPY_FRACTION:.0%} of log {n_classes}")
    left.set_ylabel("nats")
    steps, values = zip(*trial.series(M.CLASSES_COVERED))
    right.plot(steps, values, marker="o", ms=3, color="tab:green", label="classes covered (classes_covered)")
    right.axhline(n_classes, color="tab:green", ls="--", lw=1, label=f"all {n_classes} classes")
    right.set_ylim(0, n_classes + 0.5)
    if trial.series(M.SAMPLE_CONFIDENCE):
        conf = right.twinx()
        s, v = zip(*trial.series(M.SAMPLE_CONFIDENCE))
        conf.plot(s, v, color="tab:gray", lw=1, label="mean max-probability (sample_confidence)")
        conf.set_ylim(0, 1.02)
        conf.set_ylabel("mean max-probability")
        conf.legend(fontsize=7, loc="lower right")
    for ax in (left, right):
        ax.set_xlabel("report")
        ax.legend(fontsize=7, loc="lower left")
    caption = (f"The feature classifier's predictions on the trial's seeded evaluation samples at each report: the entropy "
               f"of the predicted-class histogram (left) and how many of the {n_classes} classes are predicted at least "
               f"once (right). {verdict.text}")
    return Figure(ctx.save(fig, "gan_best_class_coverage"), title, caption)


def scores_panel(ax: plt.Axes, trial: Trial, loss: str, label_smoothing: float) -> str:
    """Draw d_real and d_fake (and their optimum, or for hinge / wgan_gp their gap and 0) on ``ax``;
    returns the caption's sentence about them."""
    real, fake = trial.series(M.D_REAL), trial.series(M.D_FAKE)
    for series, color, name in ((real, "tab:green", "on real images (d_real)"), (fake, "tab:orange", "on generated (d_fake)")):
        if series:
            steps, values = zip(*series)
            ax.plot(steps, values, marker="o", ms=3, color=color, label=f"D {name}")
    optimum = d_optimum(loss, label_smoothing)
    ax.set_xlabel("report")
    if optimum is not None:
        ax.axhline(optimum, color="black", ls="--", lw=1, label=f"optimum when p_g = p_data: {optimum:g}")
        ax.set_ylabel("mean D output" + (" (probability)" if loss == "bce" else " (raw score)"))
        ax.legend(fontsize=7)
        return (f"Right: D's mean output on the real and on the generated images of each D step ({'probabilities' if loss == 'bce' else 'raw scores'}); "
                f"both tend to {optimum:g} when the generator matches the data and D is optimal (bce: 1/2; lsgan: "
                "t/2; t = 1 - label smoothing). d_real near 1 and d_fake near 0 mean D wins.")
    if real and fake:
        gap = [(s, r - dict(fake)[s]) for s, r in real if s in dict(fake)]
        steps, values = zip(*gap)
        ax.plot(steps, values, color="black", lw=1.2, label="gap d_real - d_fake")
        ax.axhline(0.0, color="black", ls="--", lw=1, label="gap at equilibrium: 0")
    ax.set_ylabel("mean critic score (raw)")
    ax.legend(fontsize=7)
    return (f"Right: the critic's mean raw score on real and generated images; a {loss} critic's scores have an arbitrary "
            "offset, so only their gap (an estimate of the distance between the distributions) has an equilibrium "
            "value, 0.")


def fixed_noise(ctx: Context, trial: Trial, label: str) -> Figure | Omitted:
    """Every fixed-noise grid (all 64 latents) the trial logged, up to :data:`MAX_GRIDS` evenly spaced."""
    title = f"{label}: all 64 fixed-noise samples over training"
    found = sorted(ctx.image_steps(trial.run_id, "fixed_noise").items())
    if not found:
        return Omitted(title, "the run logged no 'fixed_noise' images")
    keep = sorted({int(round(i)) for i in np.linspace(0, len(found) - 1, min(MAX_GRIDS, len(found)))})
    shown = [found[i] for i in keep]
    cols = min(4, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 3.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (report, path) in zip(axes.flat, shown):
        image_panel(ax, read_png(ctx.artifact(trial.run_id, path)), f"report {report}")
    fig.tight_layout()
    which = "every report" if len(shown) == len(found) else f"{len(shown)} of its {len(found)} reports, evenly spaced"
    caption = (f"The generator's images for the same 64 latent vectors (seed = the trial's seed), at {which}, from the "
               "run's 'fixed_noise' images: the same tile position is the same latent in every grid. Many tiles "
               "turning into one shape, or grids that stop changing while their digits are poor, are signs of collapse.")
    return Figure(ctx.save(fig, "gan_best_fixed_noise"), title, caption)
