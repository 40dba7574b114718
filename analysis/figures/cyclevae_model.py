"""Cycle-consistent VAE figures drawn with a trial's best checkpoint: the swap grid, interpolations in s and
in z, the s->z and z->s prediction networks (their predictions decoded beside the originals, with the
s-probe's misclassifications marked), and t-SNE of s and z coloured by the label.

Inference on the trained model only; the probe and the two small prediction networks are fitted here,
on training-split encodings, and scored on test images.
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle
from torch import nn

from analysis import latents
from analysis.figures.common import Context
from analysis.figures.vae_model import pick_pairs
from analysis.items import Figure, Omitted
from analysis.record import Trial
from trainables.cyclevae import grid_indices, swap_grid
from trainables.cyclevae_eval import EVAL_SEED_OFFSET, encode
from trainables.images import uint8_to_float
from trainables.models.cyclevae import reparameterize
from trainables.probes import fit_probe

N_SWAP, N_PAIRS, N_STEPS, N_PREDICT = 10, 3, 10, 16
REGRESSOR_TRAIN, REGRESSOR_EPOCHS, HIDDEN = 5000, 20, 256


def items(ctx: Context, trial: Trial, label: str) -> list:
    with ctx.progress.step(f"{label}: loading its checkpoint"):
        try:
            model, cfg = ctx.model(trial.run_id)
        except Exception as e:  # noqa: BLE001 - a missing or corrupt checkpoint omits these figures
            return [Omitted(f"{label}: figures drawn with the model", f"its checkpoint cannot be loaded: {e}")]
    try:
        data = _data(ctx, cfg.dataset)
    except Exception as e:  # noqa: BLE001 - DataUnavailable names the remedy
        return [Omitted(f"{label}: figures that need the {cfg.dataset} images", str(e))]
    x_np, y_np = data.split("test")
    x_test, y_test = torch.from_numpy(x_np), torch.from_numpy(y_np)
    out = [_swap(ctx, model, x_test, y_np, label), _interpolations(ctx, model, x_test, y_np, label)]
    out.append(_predictions(ctx, model, cfg, data, label))
    out.append(_tsne(ctx, model, x_test, y_test, cfg, label))
    return out


@contextmanager
def one_thread():
    """torch on one thread for the small fits: on the shared 2-core machine under load, one regressor on 5,000
    encodings took 135 s with two threads and 3.6 s with one (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _data(ctx: Context, dataset: str):
    key = ("cyclevae-data", dataset)
    if key not in ctx._cache:
        from trainables.data.cyclevae_data import load_cyclevae_data

        ctx._cache[key] = load_cyclevae_data({"dataset": dataset}, ctx.data_root)
    return ctx._cache[key]


def _float(x_u8: torch.Tensor, idx) -> torch.Tensor:
    return uint8_to_float(x_u8[torch.as_tensor(np.asarray(idx))])


def _swap(ctx: Context, model, x_test: torch.Tensor, y_test: np.ndarray, label: str) -> Figure:
    s_idx, z_idx = grid_indices(y_test, N_SWAP)
    grid = swap_grid(model, _float(x_test, s_idx), _float(x_test, z_idx))
    path = ctx.save_grid(grid, "cyclevae_best_swap", nrow=len(s_idx) + 1)
    return Figure(path, f"{label}: style transfer (swap grid)",
                  f"Top row: the test image whose s each column uses (the first test image of each of {len(s_idx)} "
                  "labels); left column: the test image whose z (posterior mean) each row uses (the second image of "
                  "each label). Cell (row i, column j) is decoded from z of row i's image and s of column j's: a "
                  "disentangled model draws column j's label in row i's style.")


@torch.no_grad()
def _interpolations(ctx: Context, model, x_test: torch.Tensor, y_test: np.ndarray, label: str) -> Figure | Omitted:
    title = f"{label}: interpolations in s and in z"
    if len(np.unique(y_test)) < 2:
        return Omitted(title, "the test set has a single label")
    pairs = pick_pairs(y_test, N_PAIRS)
    tt = torch.linspace(0, 1, N_STEPS)[:, None]
    rows, names = [], []
    for a, b in pairs:
        x = _float(x_test, [a, b])
        z, _, s = model.encode(x)
        for what, zs, ss in (("s", z[:1].expand(N_STEPS, -1), (1 - tt) * s[0] + tt * s[1]),
                             ("z", (1 - tt) * z[0] + tt * z[1], s[:1].expand(N_STEPS, -1))):
            rows.append(torch.cat([x[:1], model.decode(zs, ss), x[1:]]))
            names.append(f"{what}: {y_test[a]}→{y_test[b]}")
    images = torch.cat(rows)  # (2 * pairs * (steps + 2), C, H, W)
    fig = _image_rows(images, len(rows), N_STEPS + 2, names)
    return Figure(ctx.save(fig, "cyclevae_best_interpolations"), title,
                  f"{N_PAIRS} pairs of test images with different labels (the first image of label k and of the next "
                  f"label). Each pair has two rows between its two images: 's' decodes z of the left image with "
                  f"s = (1 - t) s_a + t s_b, 'z' decodes s of the left image with z = (1 - t) z_a + t z_b (posterior "
                  f"means), for {N_STEPS} values of t from 0 to 1. Moving s should change the label and keep the "
                  "style; moving z should change the style and keep the label.")


def _image_rows(images: torch.Tensor, n_rows: int, n_cols: int, names: list[str], marks=None) -> plt.Figure:
    """One matplotlib figure of ``n_rows`` x ``n_cols`` images with row names; ``marks``: (row, col) framed in red."""
    c, h, w = images.shape[1:]
    grid = images.view(n_rows, n_cols, c, h, w).permute(0, 3, 1, 4, 2).reshape(n_rows * h, n_cols * w, c).numpy()
    fig, ax = plt.subplots(figsize=(n_cols * 0.6 + 2.2, n_rows * 0.6 + 0.6))
    ax.imshow(grid.squeeze(-1) if c == 1 else grid, cmap="gray", vmin=0, vmax=1)
    for r, col in marks or []:
        ax.add_patch(Rectangle((col * w - 0.5, r * h - 0.5), w, h, fill=False, edgecolor="red", linewidth=1.5))
    ax.set_yticks([h * (i + 0.5) for i in range(n_rows)], names, fontsize=7)
    ax.set_xticks([])
    return fig


class _Regressor(nn.Module):
    def __init__(self, d_in: int, d_out: int, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.net = nn.Sequential(nn.Linear(d_in, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, HIDDEN),
                                 nn.LeakyReLU(0.2), nn.Linear(HIDDEN, d_out))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def fit_regressor(x: torch.Tensor, y: torch.Tensor, seed: int) -> _Regressor:
    """An MLP (two hidden layers of 256, LeakyReLU) fitted by MSE with Adam (lr 1e-3, batches of 256)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _Regressor(x.shape[1], y.shape[1], x.mean(0), x.std(0).clamp_min(1e-6))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(REGRESSOR_EPOCHS):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 256):
            idx = order[i:i + 256]
            loss = (net(x[idx]) - y[idx]).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


def r_squared(pred: torch.Tensor, target: torch.Tensor) -> float:
    """1 - residual / total variance, summed over dimensions (0: no better than the mean)."""
    return float(1 - (pred - target).pow(2).sum() / (target - target.mean(0)).pow(2).sum())


def _predictions(ctx: Context, model, cfg, data, label: str) -> Figure:
    seed = cfg.seed + EVAL_SEED_OFFSET
    x_train = torch.from_numpy(data.split("train")[0])
    n = min(REGRESSOR_TRAIN, len(x_train))
    with ctx.progress.step(f"{label}: fitting the s->z and z->s networks on {n:,} training encodings"), one_thread():
        z_tr, logvar_tr, s_tr = encode(model, x_train[:n])
        s_to_z, z_to_s = fit_regressor(s_tr, z_tr, seed), fit_regressor(z_tr, s_tr, seed)
        sample_to_s = fit_regressor(reparameterize(z_tr, logvar_tr, torch.Generator().manual_seed(seed)), s_tr, seed)
        fit = data.probe_tasks(cfg.probe_train_size, cfg.eval_size, seed)["test"].fit  # the trial's own s-probe
        x_fit, y_fit = data.split(fit[0])
        _, _, s_fit = encode(model, torch.from_numpy(x_fit[fit[1]]))
        s_probe = fit_probe(s_fit, torch.from_numpy(y_fit[fit[1]]), cfg.probe_epochs, seed)
    x_test, y_test = (torch.from_numpy(a) for a in data.split("test"))
    with torch.no_grad():
        z_te, logvar_te, s_te = encode(model, x_test)
        s_hat, z_hat = z_to_s(z_te), s_to_z(s_te)
        wrong_hat = s_probe.predict(s_hat) != y_test
        z_sample = reparameterize(z_te, logvar_te, torch.Generator().manual_seed(seed))
        right_from_sample = float((s_probe.predict(sample_to_s(z_sample)) == y_test).float().mean())
        wrong_own = s_probe.predict(s_te) != y_test
        pick = np.linspace(0, len(x_test) - 1, N_PREDICT).astype(int)
        x = _float(x_test, pick)
        images = torch.cat([x, model.decode(z_te[pick], s_hat[pick]), model.decode(z_hat[pick], s_te[pick])])
    marks = [(1, j) for j in range(N_PREDICT) if wrong_hat[pick[j]]]
    marks += [(2, j) for j in range(N_PREDICT) if wrong_own[pick[j]]]
    fig = _image_rows(images, 3, N_PREDICT, ["test image", "z, s predicted from z", "s, z predicted from s"], marks)
    r2_s, r2_z = r_squared(s_hat, s_te), r_squared(z_hat, z_te)
    caption = (f"Networks (two hidden layers of 256, MSE, {REGRESSOR_EPOCHS} epochs) fitted on the encodings of the "
               f"first {n:,} training images predict s from z and z from s (posterior means). Row 1: {N_PREDICT} test "
               "images spread over the test set; row 2: decoded from the image's z and the s predicted from that z; "
               "row 3: decoded from the image's s and the z predicted from that s. Red frames: row 2, where the "
               "s-probe (the trial's probe, refitted with its seed) gives the predicted s another label than the "
               "image's; row 3, where it misclassifies the image's own s. Over all test images the s-probe gives the "
               f"label of the image to {100 * (1 - wrong_hat.float().mean()):.1f}% of the s predicted from z (chance: "
               f"about {100 / len(torch.unique(y_test)):.0f}%; own s: {100 * (1 - wrong_own.float().mean()):.1f}%), "
               f"and the predictions explain R² = {r2_s:.3f} of s's variance (from z) and {r2_z:.3f} of z's (from s) "
               "on the test set. The same network fitted on one seeded sample of q(z|x) instead of its mean (what "
               "the decoder receives, and what the z-probe reads) gives s the image's label "
               f"{100 * right_from_sample:.1f}% of the time. Disentangled latents predict each other badly: row 2 "
               "then shows other labels, row 3 a typical style.")
    return Figure(ctx.save(fig, "cyclevae_best_predictions"), f"{label}: s→z and z→s prediction networks", caption)


@torch.no_grad()
def _tsne(ctx: Context, model, x_test: torch.Tensor, y_test: torch.Tensor, cfg, label: str) -> Figure:
    o = ctx.options
    idx = latents.stratified_indices(y_test.numpy(), o.tsne_points, o.seed)
    mu, logvar, s = encode(model, x_test[torch.from_numpy(idx)])
    sample = reparameterize(mu, logvar, torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET))
    perplexity = o.tsne_perplexities[-1]
    panels = (("s", s), ("z (posterior mean)", mu), ("z (one sample, as the z-sample probe sees it)", sample))
    fig, axes = plt.subplots(1, 3, figsize=(15.6, 4.8))
    y = y_test[torch.from_numpy(idx)].numpy()
    for ax, (name, codes) in zip(axes, panels):
        with ctx.progress.step(f"{label}: t-SNE of {len(idx):,} test {name}, perplexity {perplexity:g}"):
            xy = latents.tsne(codes.double().numpy(), perplexity, o.seed)
        ax.scatter(xy[:, 0], xy[:, 1], c=y, cmap="tab10" if len(np.unique(y)) <= 10 else "nipy_spectral", s=4)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return Figure(ctx.save(fig, "cyclevae_best_tsne"), f"{label}: t-SNE of s and z",
                  f"scikit-learn's Barnes-Hut t-SNE ({latents.TSNE_ITERATIONS} iterations, PCA initialisation, seed "
                  f"{o.seed}, perplexity {perplexity:g}) of {len(idx):,} test images (a label-stratified sample), "
                  "coloured by label: s, z's posterior mean and one seeded sample of q(z|x). Labels should cluster in "
                  "s and mix in z; distances between clusters in t-SNE are not meaningful.")
