"""DDPM figures drawn with the best trial's EMA U-Net: 64 samples from a fixed seed (not cherry-picked),
slerp interpolations between the DDIM initial noises of 8 pairs, a cherry-picked grid labelled as
such and picked by a stated rule, and the nearest training images of 8 samples in pixel space and in
the FID feature space. The memorisation check (:mod:`ddpm_memorisation`) uses the same samples, and so
does the recognition table: the classifier's mean maximum class probability and the classes it predicts
on those samples, beside the same numbers on as many test images."""

from __future__ import annotations

import dataclasses
import json
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures import ddpm_memorisation
from analysis.figures.common import Context, html_table
from analysis.items import Figure, Omitted, Table
from analysis.record import Trial
from trainables.ddpm_eval import generate, initial_noise
from trainables.diffusion import alphas_cumprod, slerp
from trainables.fid import class_coverage
from trainables.images import uint8_to_float

N_SAMPLES, N_PAIRS, N_STEPS, N_QUERIES, N_NEIGHBOURS, N_CHERRY = 64, 8, 10, 8, 5, 64
DATA_KEYS = ("dataset", "data_dir", "image_size", "fid_features")
RECOGNITION_FILE = "recognition.json"
Features = Callable[[torch.Tensor], np.ndarray]


def items(ctx: Context, trial: Trial, label: str) -> list:
    with ctx.progress.step(f"{label}: loading its checkpoint"):
        try:
            unet, cfg = ctx.model(trial.run_id)
        except Exception as e:  # noqa: BLE001 - a missing or corrupt checkpoint omits these figures
            return [Omitted(f"{label}: figures drawn with the U-Net", f"its checkpoint cannot be loaded: {e}")]
    abar, seed, device = alphas_cumprod(cfg.schedule, cfg.timesteps), ctx.options.seed, torch.device("cpu")
    sample = lambda x_T: generate(unet, cfg, abar, x_T, device, seed)  # noqa: E731
    how = f"DDIM, {cfg.ddim_steps} steps, η = {cfg.ddim_eta:g}"
    with ctx.progress.step(f"{label}: 64 samples and 8 interpolations"):
        images = sample(initial_noise(cfg, N_SAMPLES, seed))
        out = [Figure(ctx.save_grid(images, "ddpm_best_samples"), f"{label}: 64 samples",
                      f"The EMA network's samples ({how}) from the first 64 initial noises x_T ~ N(0, I) of seed {seed}; "
                      "not cherry-picked."),
               _interpolations(ctx, cfg, unet, abar, label)]
    try:
        data = ctx.family_data("ddpm", {k: getattr(cfg, k) for k in DATA_KEYS})
    except Exception as e:  # noqa: BLE001 - DataUnavailable names the remedy
        return out + [Omitted(f"{label}: figures that need the training images", str(e))]
    n = max(ctx.options.diffusion_samples, N_CHERRY)
    with ctx.progress.step(f"{label}: {n:,} samples for the cherry-picked grid and the memorisation check"):
        pool = sample(initial_noise(cfg, n, seed + 2))
    features, probs, space = _feature_space(ctx, data, label)
    x_train = data.images.subset(cfg.train_size).x_train
    pool_probs = probs(pool) if probs else None
    out.append(_cherry(ctx, pool, pool_probs, data.images.x_val, label, space))
    if pool_probs is not None:
        x_test = uint8_to_float(torch.from_numpy(np.asarray(data.images.x_test[:len(pool)])))
        out.append(_recognition(ctx, pool_probs, probs(x_test), label, space, how))
    out.append(_neighbours(ctx, x_train, images[:N_QUERIES], None, label, "pixel space (Euclidean, pixels in [0, 1])"))
    if features is None:
        out.append(Omitted(f"{label}: nearest training images in feature space", "the data has no feature space (no "
                           "labels for genstudy's classifier, no Inception-v3 weights on disk)"))
    else:
        out.append(_neighbours(ctx, x_train, images[:N_QUERIES], features, label, space))
    return out + ddpm_memorisation.items(ctx, pool, data.images, x_train, features, space, label)


def _feature_space(ctx: Context, data, label: str) -> tuple[Features | None, Features | None, str]:
    """(features, class probabilities, description): genstudy's classifier on labelled data, else
    Inception-v3 when its weights are on disk, else nothing."""
    if data.images.num_classes >= 2:
        from trainables.classifier import features_and_probs, load_or_train

        with ctx.progress.step(f"{label}: loading (or, if not cached, training) the {data.name} feature classifier"):
            classifier, accuracy, _ = load_or_train(data.classifier_data(), ctx.data_root)
            classifier = classifier.cpu().eval()
        return (lambda x: features_and_probs(classifier, x)[0], lambda x: features_and_probs(classifier, x)[1],
                f"the 128-d feature space of genstudy's {data.name} classifier (test accuracy {accuracy:.4f})")
    from trainables.fid import inception_features, load_fid_inception

    net = load_fid_inception(torch.device("cpu"))
    if net is None:
        return None, None, ""
    return lambda x: inception_features(net, x), None, "the FID Inception-v3's pool features (2048-d)"


def _interpolations(ctx: Context, cfg, unet, abar: torch.Tensor, label: str) -> Figure:
    """Deterministic DDIM (η = 0) whatever the trial samples with: only then is an image a function of its
    initial noise, so that interpolating the noises interpolates the images (Song et al. 2021, section 5.3)."""
    pairs = initial_noise(cfg, 2 * N_PAIRS, ctx.options.seed + 1)
    alpha = torch.linspace(0, 1, N_STEPS)
    x_T = torch.cat([slerp(pairs[2 * i], pairs[2 * i + 1], alpha) for i in range(N_PAIRS)])  # (pairs * steps, C, S, S)
    ddim = dataclasses.replace(cfg, ddim_eta=0.0)
    path = ctx.save_grid(generate(unet, ddim, abar, x_T, torch.device("cpu")), "ddpm_best_interpolations", nrow=N_STEPS)
    return Figure(path, f"{label}: interpolations between 8 pairs of samples",
                  f"Each row decodes (DDIM, {cfg.ddim_steps} steps, η = 0) the spherical interpolation (slerp, as in Song "
                  f"et al.'s DDIM release) between two initial noises (seed {ctx.options.seed + 1}) at {N_STEPS} evenly "
                  "spaced weights from 0 (left) to 1 (right). η = 0 makes the sampler deterministic, so each column is a "
                  "function of its noise (the trial's own samples may use another η).")


def _recognition(ctx: Context, pool_probs: np.ndarray, test_probs: np.ndarray, label: str, space: str,
                 how: str) -> Table:
    """How confidently the classifier recognises the (not cherry-picked) samples, against test images."""
    rows, record = [], {}
    for name, p in (("samples", pool_probs), ("test images", test_probs)):
        _, confidence, classes = class_coverage(p)
        counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
        record[name.replace(" ", "_")] = {"n": int(len(p)), "mean_max_probability": confidence,
                                          "classes_predicted": classes, "predicted_counts": counts.tolist()}
        rows.append({"images": name, "n": len(p), "mean max-probability": confidence, "classes predicted": classes,
                     "predicted per class": " ".join(map(str, counts))})
    (ctx.out / RECOGNITION_FILE).write_text(json.dumps({"classifier": space, "sampler": how, **record}, indent=2))
    return Table(f"{label}: does the classifier recognise the samples?",
                 f"The classifier behind {space} on the same {len(pool_probs):,} samples ({how}; not cherry-picked) and on "
                 f"the first {len(test_probs):,} test images: its mean maximum class probability, the classes it predicts "
                 "and how often it predicts each one (classes 0, 1, 2, ... in order).",
                 html_table(rows, "{:.4f}"), RECOGNITION_FILE)


def _cherry(ctx: Context, pool: torch.Tensor, probs: np.ndarray | None, x_val: np.ndarray, label: str,
            space: str) -> Figure:
    """The N_CHERRY best of ``pool`` by the classifier's confidence, or (no classifier) by pixel distance
    to the nearest validation image."""
    if probs is not None:
        score, predicted = probs.max(axis=1), probs.argmax(axis=1)
        top = np.argsort(-score)[:N_CHERRY]
        titles = [f"{predicted[i]} ({score[i]:.3f})" for i in top]
        rule = f"the highest maximum class probability under {space}; each tile shows the predicted class and it"
    else:
        distance = ddpm_memorisation.nearest_distances(pool.flatten(1).numpy(), uint8_to_float(torch.from_numpy(
            np.asarray(x_val))).flatten(1).numpy())
        top = np.argsort(distance)[:N_CHERRY]
        titles = [f"{distance[i]:.2f}" for i in top]
        rule = ("the smallest pixel-space distance to their nearest validation image (held out from training, so "
                "closeness is realism, not copying); each tile shows that distance")
    fig, axes = plt.subplots(8, 8, figsize=(8, 8.9))
    for ax, i, title in zip(axes.flat, top, titles):
        img = pool[i].permute(1, 2, 0).numpy()
        ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    fig.suptitle(f"CHERRY-PICKED: the {N_CHERRY} of {len(pool):,} samples ranked best by a fixed rule",
                 color="darkred", fontsize=11, fontweight="bold")
    fig.tight_layout()
    return Figure(ctx.save(fig, "ddpm_best_cherry_picked"), f"{label}: cherry-picked samples",
                  f"CHERRY-PICKED, not representative: of {len(pool):,} samples (initial noises of seed "
                  f"{ctx.options.seed + 2}), the {N_CHERRY} with {rule}. Picked by that rule, never by hand; compare "
                  "with the 64 non-cherry-picked samples above.")


def _neighbours(ctx: Context, x_train: np.ndarray, queries: torch.Tensor, features: Features | None, label: str,
                space: str) -> Figure:
    name = "pixels" if features is None else "features"
    with ctx.progress.step(f"{label}: nearest training images in {name}"):
        if features is None:
            q, ref = queries.flatten(1).numpy(), None
        else:
            q, ref = features(queries), ddpm_memorisation.train_features(x_train, features)
        nearest = ddpm_memorisation.nearest_indices(q, x_train, N_NEIGHBOURS, ref)
    rows = [torch.cat([queries[i:i + 1], uint8_to_float(torch.from_numpy(np.asarray(x_train[nearest[i]])))])
            for i in range(len(queries))]
    path = ctx.save_grid(torch.cat(rows), f"ddpm_best_nearest_{name}", nrow=N_NEIGHBOURS + 1)
    return Figure(path, f"{label}: nearest training images of 8 samples ({name})",
                  f"First column: the first {len(queries)} of the 64 samples; then their {N_NEIGHBOURS} nearest neighbours "
                  f"among the {len(x_train):,} training images the trial trained on, by Euclidean distance in {space}. "
                  "A sample that equals its first neighbour would be a copy.")
