"""GAN figures drawn with the best trial's generator: 64 samples, interpolations, nearest training
images in the feature classifier's space, and a clearly labelled cherry-picked grid."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures.common import Context
from analysis.items import Figure, Omitted
from analysis.record import Trial
from trainables.images import signed_to_unit, uint8_to_float

N_SAMPLES, N_PAIRS, N_STEPS, N_QUERIES, N_NEIGHBOURS, N_CHERRY = 64, 8, 10, 8, 5, 64
BATCH = 500


@torch.no_grad()
def generate(generator, z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] ``(N, C, H, W)`` for latents ``z`` (the generator in eval mode)."""
    generator.eval()
    return torch.cat([signed_to_unit(generator(z[i:i + BATCH])) for i in range(0, len(z), BATCH)]).clamp(0, 1)


def items(ctx: Context, trial: Trial, label: str) -> list:
    with ctx.progress.step(f"{label}: loading its checkpoint"):
        try:
            gan, cfg = ctx.model(trial.run_id)
        except Exception as e:  # noqa: BLE001 - a missing or corrupt checkpoint omits these figures
            return [Omitted(f"{label}: figures drawn with the generator", f"its checkpoint cannot be loaded: {e}")]
    g = gan.generator
    seed = ctx.options.seed
    z = torch.randn(max(ctx.options.gan_samples, N_SAMPLES), cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
    with ctx.progress.step(f"{label}: generating {len(z):,} samples"):
        images = generate(g, z)
    out = [Figure(ctx.save_grid(images[:N_SAMPLES], "gan_best_samples"), f"{label}: 64 samples",
                  f"The generator's images for the first 64 latents z ~ N(0, I) (seed {seed}); not cherry-picked."),
           _interpolations(ctx, g, cfg.latent_dim, label)]
    try:
        data = ctx.dataset(cfg.dataset)
    except Exception as e:  # noqa: BLE001 - DataUnavailable names the remedy
        return out + [Omitted(f"{label}: figures that need the {cfg.dataset} images and classifier", str(e))]
    from trainables.classifier import features_and_probs, load_or_train

    with ctx.progress.step(f"{label}: loading (or, if not cached, training) the {cfg.dataset} feature classifier"):
        classifier, accuracy, path = load_or_train(data, ctx.data_root)
        classifier = classifier.cpu().eval()
    with ctx.progress.step(f"{label}: classifier features of {len(images):,} samples"):
        feats, probs = features_and_probs(classifier, images)
    out.append(_neighbours(ctx, classifier, data.subset(cfg.train_size).x_train, images, feats, label, accuracy))
    out.append(_cherry(ctx, images, probs, label, accuracy))
    return out


def _interpolations(ctx: Context, g, latent_dim: int, label: str) -> Figure:
    gen = torch.Generator().manual_seed(ctx.options.seed + 1)
    ends = torch.randn(N_PAIRS, 2, latent_dim, generator=gen)
    t = torch.linspace(0, 1, N_STEPS)[None, :, None]
    z = (1 - t) * ends[:, :1] + t * ends[:, 1:]  # (pairs, steps, latent)
    path = ctx.save_grid(generate(g, z.reshape(-1, latent_dim)), "gan_best_interpolations", nrow=N_STEPS)
    return Figure(path, f"{label}: interpolations between 8 pairs of samples",
                  f"Each row decodes the straight line (1 - t) z_a + t z_b between two random latents (seed "
                  f"{ctx.options.seed + 1}) at {N_STEPS} evenly spaced t from 0 (left) to 1 (right).")


def _neighbours(ctx: Context, classifier, x_train: np.ndarray, images: torch.Tensor, feats: np.ndarray, label: str,
                accuracy: float) -> Figure:
    from trainables.classifier import features_and_probs

    with ctx.progress.step(f"{label}: classifier features of {len(x_train):,} training images"):
        train_feats = np.concatenate([features_and_probs(classifier, uint8_to_float(torch.from_numpy(
            np.asarray(x_train[i:i + 5000]))))[0] for i in range(0, len(x_train), 5000)])
    q = feats[:N_QUERIES]
    d2 = (q**2).sum(1)[:, None] - 2 * q @ train_feats.T + (train_feats**2).sum(1)[None, :]  # (queries, train)
    nearest = np.argsort(d2, axis=1)[:, :N_NEIGHBOURS]
    rows = []
    for i in range(N_QUERIES):
        train = uint8_to_float(torch.from_numpy(np.asarray(x_train[nearest[i]])))
        rows.append(torch.cat([images[i:i + 1], train]))
    path = ctx.save_grid(torch.cat(rows), "gan_best_nearest_neighbours", nrow=N_NEIGHBOURS + 1)
    return Figure(path, f"{label}: nearest training images of 8 samples",
                  f"First column: the first {N_QUERIES} samples of the 64-sample grid; then their {N_NEIGHBOURS} nearest "
                  f"neighbours among the {len(x_train):,} training images the trial trained on, by Euclidean distance "
                  f"in the 128-d feature space of genstudy's classifier (test accuracy {accuracy:.4f}). A sample that "
                  "equals its first neighbour would be a copy.")


def _cherry(ctx: Context, images: torch.Tensor, probs: np.ndarray, label: str, accuracy: float) -> Figure:
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    top = np.argsort(-confidence)[:N_CHERRY]
    fig, axes = plt.subplots(8, 8, figsize=(8, 8.9))
    for ax, i in zip(axes.flat, top):
        img = images[i].permute(1, 2, 0).numpy()
        ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{predicted[i]} ({confidence[i]:.3f})", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"CHERRY-PICKED: the {N_CHERRY} of {len(images):,} samples the classifier is most confident about",
                 color="darkred", fontsize=11, fontweight="bold")
    fig.tight_layout()
    path = ctx.save(fig, "gan_best_cherry_picked")
    return Figure(path, f"{label}: cherry-picked samples (highest classifier confidence)",
                  f"CHERRY-PICKED, not representative: of {len(images):,} samples from seeded latents, the {N_CHERRY} "
                  f"with the highest maximum class probability under genstudy's classifier (test accuracy "
                  f"{accuracy:.4f}); each tile shows the predicted class and its probability. Compare with the 64 "
                  "non-cherry-picked samples above.")
