"""VAE figures drawn with a trial's best checkpoint: prior samples, reconstructions, interpolations
between test images of different classes, and latent traversals ordered by KL."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures.common import Context
from analysis.items import Figure, Omitted
from analysis.latents import encode
from trainables.images import uint8_to_float

N_SAMPLES = 64
N_RECON = 32
N_PAIRS, N_STEPS = 8, 10
MAX_TRAVERSAL_ROWS, TRAVERSAL_RANGE, TRAVERSAL_STEPS = 16, 3.0, 11


@torch.no_grad()
def _decode(model, z: np.ndarray | torch.Tensor) -> torch.Tensor:
    z = torch.as_tensor(z, dtype=torch.float32)
    return model.mean_image(model.decode(z))  # (N, C, H, W) in [0, 1]


def samples(ctx: Context, model, cfg, name: str, label: str) -> Figure | Omitted:
    title = f"{label}: 64 prior samples"
    if model.deterministic:
        return Omitted(title, "a plain autoencoder has no prior to sample from")
    z = torch.randn(N_SAMPLES, cfg.latent_dim, generator=torch.Generator().manual_seed(ctx.options.seed))
    path = ctx.save_grid(_decode(model, z), name)
    return Figure(path, title, f"The decoder's mean image for the first 64 draws z ~ N(0, I) (seed {ctx.options.seed}); "
                               "not cherry-picked.")


def reconstructions(ctx: Context, model, x_test: np.ndarray, name: str, label: str) -> Figure:
    """Rows alternate test images and their reconstructions from the posterior mean."""
    idx = np.linspace(0, len(x_test) - 1, N_RECON).astype(int)  # spread over the test set, fixed
    x = uint8_to_float(torch.from_numpy(np.asarray(x_test[idx])))
    mu, _ = encode(model, x_test[idx])
    recon = _decode(model, mu)
    rows = torch.stack([x, recon]).view(2, 4, 8, *x.shape[1:]).transpose(0, 1).reshape(-1, *x.shape[1:])
    path = ctx.save_grid(rows, name)
    return Figure(path, f"{label}: reconstructions of test images",
                  f"Odd rows: {N_RECON} test images spread evenly over the test set (indices 0 to {len(x_test) - 1}); "
                  "even rows: the decoder's mean image at the encoder's posterior mean, from the trial's best checkpoint.")


def pick_pairs(labels: np.ndarray, n: int = N_PAIRS) -> list[tuple[int, int]]:
    """``n`` (i, j) pairs of test images with different labels: the first image of class k and of class k+1."""
    classes = np.unique(labels)
    first = {c: np.flatnonzero(labels == c) for c in classes}
    pairs = []
    for k in range(n):
        a, b = classes[k % len(classes)], classes[(k + 1) % len(classes)]
        pairs.append((int(first[a][k // len(classes)]), int(first[b][k // len(classes)])))
    return pairs


def interpolations(ctx: Context, model, x_test: np.ndarray, y_test: np.ndarray, name: str, label: str) -> Figure | Omitted:
    title = f"{label}: latent interpolations"
    if len(np.unique(y_test)) < 2:
        return Omitted(title, "the test set has a single class")
    pairs = pick_pairs(y_test)
    mu, _ = encode(model, x_test[[i for p in pairs for i in p]])
    t = np.linspace(0.0, 1.0, N_STEPS)[:, None]
    rows = []
    for k, (i, j) in enumerate(pairs):
        za, zb = mu[2 * k], mu[2 * k + 1]
        path = _decode(model, (1 - t) * za + t * zb)  # (N_STEPS, C, H, W)
        ends = uint8_to_float(torch.from_numpy(np.asarray(x_test[[i, j]])))
        rows.append(torch.cat([ends[:1], path, ends[1:]]))
    grid = ctx.save_grid(torch.cat(rows), name, nrow=N_STEPS + 2)
    described = ", ".join(f"{y_test[i]}→{y_test[j]}" for i, j in pairs)
    return Figure(grid, title, f"Each row: a test image, the decoded straight line z = (1 - t) μ_a + t μ_b between the "
                               f"posterior means of two test images of different classes ({N_STEPS} steps of t from 0 "
                               f"to 1), and the second image. Pairs (labels): {described}.")


def traversals(ctx: Context, model, x_test: np.ndarray, kl: np.ndarray, name: str, label: str) -> Figure:
    """One row per latent dimension (highest KL first): the others held at a test image's posterior mean."""
    order = np.argsort(-kl)[:MAX_TRAVERSAL_ROWS]
    base, _ = encode(model, x_test[:1])  # (1, latent)
    values = np.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, TRAVERSAL_STEPS)
    rows = []
    for d in order:
        z = np.repeat(base, TRAVERSAL_STEPS, axis=0)
        z[:, d] = values
        rows.append(_decode(model, z))
    images = torch.cat(rows)  # (rows * steps, C, H, W)
    c, h, w = images.shape[1:]
    grid = images.view(len(order), TRAVERSAL_STEPS, c, h, w).permute(0, 3, 1, 4, 2).reshape(len(order) * h,
                                                                                          TRAVERSAL_STEPS * w, c)
    fig, ax = plt.subplots(figsize=(TRAVERSAL_STEPS * 0.55 + 1.6, len(order) * 0.55 + 0.8))
    ax.imshow(grid.squeeze(-1).numpy() if c == 1 else grid.numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([h * (i + 0.5) for i in range(len(order))], [f"z{d} (KL {kl[d]:.2f})" for d in order], fontsize=7)
    ax.set_xticks([w * (i + 0.5) for i in range(TRAVERSAL_STEPS)], [f"{v:g}" for v in values], fontsize=7)
    ax.set_xlabel("value of the traversed dimension")
    path = ctx.save(fig, name)
    what = "KL to the prior" if not model.deterministic else "variance of the code"
    shown = f"the {len(order)} of {len(kl)} dimensions" if len(kl) > len(order) else f"all {len(kl)} dimensions"
    return Figure(path, f"{label}: latent traversals",
                  f"Starting from the posterior mean of the first test image, one dimension at a time is set to each "
                  f"value from -{TRAVERSAL_RANGE:g} to {TRAVERSAL_RANGE:g} and decoded. Rows: {shown} with the highest "
                  f"mean {what} over the test set (in brackets, nats), highest first; a dimension with KL near 0 is "
                  "unused (posterior collapse) and its row does not change.")
