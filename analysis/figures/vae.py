"""The VAE family's figures: the rate-distortion picture of the study, then for the best trial and
the beta extremes (among trials that trained to the end) their curves, reconstruction progress,
samples, reconstructions, interpolations, traversals, t-SNE and the SVM on latent means.
``svm_report.json`` is written here."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis import latents
from analysis.figures import vae_latent, vae_model
from analysis.figures.common import Context, image_panel, read_png, split_grid
from analysis.figures.family import CompareImages, FamilyAnalysis
from analysis.items import Figure, Omitted, Section
from analysis.record import Trial, nelbo_caption
from record import schema as S
from trainables import metric_names as M
from trainables.data.registry import image_shape

SVM_REPORT = "svm_report.json"
CURVES = (((M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS), "total (recon + β·KL)"),
          ((M.TRAIN_RECON, M.VAL_RECON, M.TEST_RECON), "recon"), ((M.TRAIN_KL, M.VAL_KL, M.TEST_KL), "KL"))
SPLIT_STYLES = (("train", "-"), ("val", ":"), ("test", "--"))  # solid, dotted, dashed


def pick_models(ctx: Context) -> list[tuple[str, str, Trial]]:
    """(role, label, trial): the best trial, and the lowest- and highest-beta trials among those that
    trained to the end (a trial ASHA stopped after a few epochs says little about its beta)."""
    r = ctx.record
    chosen = []
    best = r.best_trial
    if best is not None:
        chosen.append(("best", f"best trial {best.trial_id}", best))
    usable = [t for t in r.scored() if t.status == S.FINISHED and t.epochs >= r.max_reports
              and isinstance(t.config.get("beta"), float)]
    if "beta" in r.searched and usable:
        for role, pick in (("beta_min", min), ("beta_max", max)):
            t = pick(usable, key=lambda t: t.config["beta"])
            if all(t is not c for _, _, c in chosen):
                chosen.append((role, f"β {'lowest' if role == 'beta_min' else 'highest'} (trial {t.trial_id}, "
                                     f"β = {t.config['beta']:.3g})", t))
    return chosen


def sections(ctx: Context) -> list[Section]:
    out = [Section("Rate and distortion", "", [_rate_distortion(ctx)])]
    reports = {}
    for role, label, trial in pick_models(ctx):
        items, svm = _model_items(ctx, role, label, trial)
        if svm is not None:
            reports[role] = {"run_id": trial.run_id, S.TRIAL_ID: trial.trial_id, "beta": trial.config.get("beta"),
                             "latent_dim": trial.config.get("latent_dim"), **svm}
        out.append(Section(f"VAE: {label}", _describe(trial), items))
    if reports:
        (ctx.out / SVM_REPORT).write_text(json.dumps(reports, indent=2))
    return out


def _describe(t: Trial) -> str:
    keys = ("arch", "depth", "width", "latent_dim", "beta", "beta_schedule", "lr", "batch_size")
    config = ", ".join(f"{k}={t.config[k]:.4g}" if isinstance(t.config.get(k), float) else f"{k}={t.config.get(k)}"
                       for k in keys if k in t.config)
    return f"Run `{t.run_id}`, {t.status.replace('_', ' ')} after {t.epochs} epochs; {config}."


def _rate_distortion(ctx: Context) -> Figure | Omitted:
    title = "Rate–distortion: test recon against test KL"
    r = ctx.record
    points = [(t, t.series(M.TEST_KL)[-1][1], t.series(M.TEST_RECON)[-1][1]) for t in r.trials
              if t.series(M.TEST_KL) and t.series(M.TEST_RECON)]
    if not points:
        return Omitted(title, "no trial logged test_kl (a plain autoencoder has no rate)")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    betas = np.asarray([t.config.get("beta", np.nan) for t, _, _ in points], dtype=float)
    for status, marker in ((S.FINISHED, "o"), (S.STOPPED_EARLY, "^"), (S.FAILED, "x"), (S.KILLED, "s")):
        idx = [i for i, (t, _, _) in enumerate(points) if t.status == status]
        if idx:
            sc = ax.scatter([points[i][1] for i in idx], [points[i][2] for i in idx], c=betas[idx], cmap="plasma",
                            vmin=np.nanmin(betas), vmax=np.nanmax(betas), marker=marker, s=40,
                            label=status.replace("_", " "), edgecolors="black", linewidths=0.4)
    fig.colorbar(sc, ax=ax, label="β")
    best = [p for p in points if p[0].run_id == r.best_run_id]
    if best:
        ax.annotate("best", (best[0][1], best[0][2]), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("rate: test KL (nats per image)")
    ax.set_ylabel("distortion: test recon (nats per image)")
    ax.legend(fontsize=8)
    caption = ("Each trial's last test KL(q(z|x) || p(z)) (rate) and test reconstruction negative log-likelihood "
               "(distortion), both per image in nats on the test set, coloured by β; triangles were stopped early by "
               "ASHA, so they sit at an earlier point of their training. Larger β buys a lower rate for a higher "
               "distortion; the negative ELBO is their sum." + nelbo_caption(r))
    return Figure(ctx.save(fig, "study_rate_distortion"), title, caption)


def _model_items(ctx: Context, role: str, label: str, trial: Trial) -> tuple[list, dict | None]:
    items = [_curves(ctx, trial, f"vae_{role}_curves", label), _progress(ctx, trial, f"vae_{role}_recon_progress", label)]
    with ctx.progress.step(f"{label}: loading its checkpoint"):
        try:
            model, cfg = ctx.model(trial.run_id)
        except Exception as e:  # noqa: BLE001 - a missing or corrupt checkpoint omits the model figures
            return items + [Omitted(f"{label}: figures drawn with the model", f"its checkpoint cannot be loaded: {e}")], None
    items.append(vae_model.samples(ctx, model, cfg, f"vae_{role}_samples", label))
    try:
        data = ctx.dataset(cfg.dataset)
    except Exception as e:  # noqa: BLE001 - DataUnavailable names the remedy
        return items + [Omitted(f"{label}: figures that need the {cfg.dataset} images", str(e))], None
    items.append(vae_model.reconstructions(ctx, model, data.x_test, f"vae_{role}_reconstructions", label))
    items.append(vae_model.interpolations(ctx, model, data.x_test, data.y_test, f"vae_{role}_interpolations", label))
    with ctx.progress.step(f"{label}: encoding {len(data.x_test):,} test images"):
        mu_test, logvar_test = latents.encode(model, data.x_test)
    items.append(vae_model.traversals(ctx, model, data.x_test, latents.kl_per_dimension(mu_test, logvar_test),
                                      f"vae_{role}_traversals", label))
    items.append(vae_latent.tsne_figure(ctx, mu_test, data.y_test, f"vae_{role}_tsne", label))
    idx = latents.stratified_indices(data.y_train, ctx.options.svm_train_size or len(data.y_train), ctx.options.seed)
    with ctx.progress.step(f"{label}: SVM on {len(idx):,} training latent means, tested on {len(mu_test):,}"):
        mu_train, _ = latents.encode(model, data.x_train[idx])
        result = latents.svm(mu_train, data.y_train[idx], mu_test, data.y_test)
    ctx.progress.line(f"{label}: SVM test accuracy {result.accuracy:.4f}")
    items += vae_latent.svm_items(ctx, result, f"vae_{role}_svm_confusion", label)
    return items, vae_latent.svm_json(result)


def _curves(ctx: Context, trial: Trial, name: str, label: str) -> Figure | Omitted:
    title = f"{label}: training curves"
    curves = [(keys, what) for keys, what in CURVES if any(trial.series(k) for k in keys)]
    if not curves:
        return Omitted(title, "the run logged no loss curves")
    fig, axes = plt.subplots(1, 2 if any(w == "KL" for _, w in curves) else 1, figsize=(11, 4), squeeze=False)
    colors = {"total (recon + β·KL)": "tab:blue", "recon": "tab:green", "KL": "tab:red"}
    for keys, what in curves:
        ax = axes[0, 1] if what == "KL" else axes[0, 0]
        for key, (split, style) in zip(keys, SPLIT_STYLES):
            if trial.series(key):
                steps, values = zip(*trial.series(key))
                ax.plot(steps, values, style, marker="o", ms=3, color=colors[what], label=f"{split} {what}")
    for ax, ylabel in zip(axes.flat, ("nats per image", "KL (nats per image)")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    caption = ("Per-epoch means over the training split (solid; averaged over the epoch's batches while training), the "
               "validation split (dotted; what the study selects on) and the test split (dashed; reported only), the "
               "last two after the epoch with a seeded posterior sample: the objective recon + β·KL with the β in "
               "force, the reconstruction negative log-likelihood and the KL to the prior, per image in nats."
               + nelbo_caption(ctx.record))
    return Figure(ctx.save(fig, name), title, caption)


def _progress(ctx: Context, trial: Trial, name: str, label: str) -> Figure | Omitted:
    """Test images, their reconstructions before training, after epoch 1 and at the last image epoch."""
    title = f"{label}: reconstruction progress"
    steps = ctx.image_steps(trial.run_id, "recon")  # step 0: before training
    epochs = [e for e in steps if e > 0]
    if 0 not in steps or not epochs:
        return Omitted(title, "the run logged no 'recon' image before training and after an epoch")
    shown = sorted({epochs[0], epochs[-1]})
    before = read_png(ctx.artifact(trial.run_id, steps[0]))
    grids = {e: read_png(ctx.artifact(trial.run_id, steps[e])) for e in shown}
    tile = image_shape(trial.config["dataset"])[1]
    tiles = {e: split_grid(g, tile) for e, g in grids.items()}  # rows alternate test images and reconstructions
    cols = 8
    pick = [i for i in range(len(tiles[shown[0]])) if (i // cols) % 2 == 0]  # tiles of the test-image rows

    def assemble(tile_list: list[np.ndarray]) -> np.ndarray:
        rows = [np.concatenate(tile_list[i:i + cols], axis=1) for i in range(0, len(tile_list), cols)]
        return np.concatenate(rows, axis=0)

    panels = [("test images", assemble([tiles[shown[0]][i] for i in pick])), ("before training", before)]
    for e in shown:
        panels.append((f"after epoch {e}", assemble([tiles[e][i + cols] for i in pick])))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.2))
    for ax, (t, img) in zip(axes, panels):
        image_panel(ax, img, t)
    caption = ("The first 32 test images and the decoder's mean image at the posterior mean, from the grids the trial "
               f"logged under the image key 'recon' (steps 0, {shown[0]} and {shown[-1]}): "
               "before the first update, after epoch 1 and after the last epoch with images.")
    return Figure(ctx.save(fig, name), title, caption)


# --- the comparison section (analysis.export --compare KEY) ------------------------------------------------
COMPARE_PANELS = (("reconstruction (nats per image)", (M.TRAIN_RECON, M.VAL_RECON, M.TEST_RECON)),
                  ("KL to the prior (nats per image)", (M.TRAIN_KL, M.VAL_KL, M.TEST_KL)),
                  ("negative ELBO (nats per image)", (None, M.VAL_NELBO, M.TEST_NELBO)))
SPLIT_NOTE = ("train_*: the mean over that epoch's batches while training; val_* and test_*: after the epoch, "
              "with a seeded posterior sample; val_* is what the study selects on, test_* is reported only")


@torch.no_grad()
def compare_strips(model, cfg, x: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Reconstructions of ``x`` from the posterior mean and ``n`` prior samples (an autoencoder: reconstructions)."""
    mu, _ = model.encode(x)
    recon = model.mean_image(model.decode(mu))
    if model.deterministic:
        return (recon,)
    z = torch.randn(n, cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
    return recon, model.mean_image(model.decode(z))


COMPARE_IMAGES = CompareImages(
    "Reconstructions and samples",
    ("reconstructions (from the posterior mean, or the code)", "prior samples (the same z in every row)"),
    compare_strips, test_images=True,
    note=("The first row holds 8 test images spread over the test set; each trial reconstructs them from its posterior "
          "mean. A plain autoencoder has no prior, so its row has reconstructions only. "))

ANALYSIS = FamilyAnalysis(sections, COMPARE_PANELS, SPLIT_NOTE, COMPARE_IMAGES)
