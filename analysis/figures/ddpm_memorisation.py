"""The memorisation check: are samples closer to the training images than held-out real images are?

For each sample, the Euclidean distance to its nearest training image; for as many test images (never
trained on), the same distance. A model that copies its training set puts samples much closer to the
training images than test images ever get; a model that generalises gives two similar distributions.
The number reported is the fraction of samples closer to a training image than any test image is
(closer than the minimum test-to-train distance), in pixel space and in the FID feature space.
``memorisation.json`` in the export holds every number.
"""

from __future__ import annotations

import json
from typing import Callable, Iterator

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures.common import Context, html_table
from analysis.items import Figure, Omitted, Table
from trainables.data import ImageData
from trainables.images import uint8_to_float

CHUNK = 4096  # reference rows per distance block
REPORT_FILE = "memorisation.json"


def pixel_chunks(x_u8: np.ndarray, size: int = CHUNK) -> Iterator[np.ndarray]:
    """Flattened float32 rows in [0, 1] of uint8 images, ``size`` at a time (never all in memory)."""
    for i in range(0, len(x_u8), size):
        yield uint8_to_float(torch.from_numpy(np.asarray(x_u8[i:i + size]))).flatten(1).numpy()


def nearest(queries: np.ndarray, chunks: Iterator[np.ndarray], k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances ``(Nq, k)`` and indices ``(Nq, k)`` of each query's ``k`` nearest reference rows,
    the reference arriving in chunks (indices count across chunks)."""
    q = np.asarray(queries, np.float64)
    q2 = (q**2).sum(1)[:, None]
    best_d, best_i, offset = np.full((len(q), 0), np.inf), np.zeros((len(q), 0), np.int64), 0
    for chunk in chunks:
        r = np.asarray(chunk, np.float64)
        d2 = np.maximum(q2 - 2 * q @ r.T + (r**2).sum(1)[None, :], 0.0)
        d = np.concatenate([best_d, np.sqrt(d2)], axis=1)
        i = np.concatenate([best_i, np.arange(offset, offset + len(r))[None, :].repeat(len(q), 0)], axis=1)
        keep = np.argsort(d, axis=1, kind="stable")[:, :k]
        best_d, best_i = np.take_along_axis(d, keep, 1), np.take_along_axis(i, keep, 1)
        offset += len(r)
    return best_d, best_i


def nearest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distance ``(Nq,)`` from each query row to its nearest row of ``reference``."""
    return nearest(queries, iter([reference[i:i + CHUNK] for i in range(0, len(reference), CHUNK)]))[0][:, 0]


def nearest_indices(queries: np.ndarray, x_train: np.ndarray, k: int, train_feats: np.ndarray | None) -> np.ndarray:
    """Indices ``(Nq, k)`` of the nearest training images: in pixel space, or among ``train_feats`` rows."""
    chunks = pixel_chunks(x_train) if train_feats is None else iter([train_feats])
    return nearest(queries, chunks, k)[1]


def train_features(x_u8: np.ndarray, features: Callable[[torch.Tensor], np.ndarray]) -> np.ndarray:
    """Feature rows of uint8 images, computed a chunk at a time."""
    return np.concatenate([features(uint8_to_float(torch.from_numpy(np.asarray(x_u8[i:i + CHUNK]))))
                           for i in range(0, len(x_u8), CHUNK)]).astype(np.float32)


def memorisation_stats(sample_d: np.ndarray, test_d: np.ndarray) -> dict[str, float]:
    """Summary of sample-to-train and test-to-train nearest distances; ``fraction_closer_than_any_test``
    is the share of samples nearer a training image than the nearest test image is."""
    return {"n_samples": int(len(sample_d)), "n_test": int(len(test_d)),
            "sample_median": float(np.median(sample_d)), "test_median": float(np.median(test_d)),
            "test_min": float(test_d.min()),
            "fraction_closer_than_any_test": float((sample_d < test_d.min()).mean()),
            "fraction_below_test_1st_percentile": float((sample_d < np.percentile(test_d, 1)).mean())}


def items(ctx: Context, samples: torch.Tensor, images: ImageData, x_train: np.ndarray,
          features: Callable[[torch.Tensor], np.ndarray] | None, space: str, label: str) -> list:
    title = f"{label}: memorisation check"
    x_test = images.x_test[:len(samples)]
    spaces = {"pixels": None} | ({"features": features} if features is not None else {})
    results, distances = {}, {}
    for name, fn in spaces.items():
        with ctx.progress.step(f"{label}: nearest-neighbour distances to {len(x_train):,} training images ({name})"):
            if fn is None:
                chunks, q_s, q_t = pixel_chunks(x_train), samples.flatten(1).numpy(), next(pixel_chunks(x_test, len(x_test)))
                d_s = nearest(q_s, chunks)[0][:, 0]
                d_t = nearest(q_t, pixel_chunks(x_train))[0][:, 0]
            else:
                train = train_features(x_train, fn)
                d_s = nearest_distances(fn(samples), train)
                d_t = nearest_distances(train_features(x_test, fn), train)
        distances[name] = (d_s, d_t)
        results[name] = memorisation_stats(d_s, d_t)
    (ctx.out / REPORT_FILE).write_text(json.dumps({"n_train": int(len(x_train)), "feature_space": space or None,
                                                   **results}, indent=2))
    fig, axes = plt.subplots(1, len(distances), figsize=(5.5 * len(distances), 3.8), squeeze=False)
    for ax, (name, (d_s, d_t)) in zip(axes[0], distances.items()):
        bins = np.linspace(0, max(d_s.max(), d_t.max()) * 1.02, 40)
        ax.hist(d_t, bins=bins, alpha=0.6, density=True, label=f"test -> train ({len(d_t):,})")
        ax.hist(d_s, bins=bins, alpha=0.6, density=True, label=f"sample -> train ({len(d_s):,})")
        ax.axvline(d_t.min(), color="k", ls="--", lw=1, label="closest test image")
        ax.set_xlabel(f"distance to the nearest training image ({name})")
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    fig.tight_layout()
    rows = [{"space": name, "samples": r["n_samples"], "median sample->train": r["sample_median"],
             "median test->train": r["test_median"], "closest test->train": r["test_min"],
             "samples closer than any test image": r["fraction_closer_than_any_test"]} for name, r in results.items()]
    where = "pixel space (pixels in [0, 1])" + (f" and in {space}" if features is not None else "")
    caption = (f"Distance from each of {len(samples):,} samples (and of {len(x_test):,} test images, never trained on) to "
               f"its nearest image among the {len(x_train):,} training images, in {where}. Samples that copied training "
               "images would pile up left of the dashed line (the closest any test image gets).")
    out = [Figure(ctx.save(fig, "ddpm_best_memorisation"), title, caption),
           Table(f"{label}: memorisation numbers", "The fraction of samples closer to a training image than any test image "
                 "is; near 0 means no sign of copying. All numbers are in memorisation.json.", html_table(rows, "{:.4f}"),
                 REPORT_FILE)]
    if features is None:
        out.append(Omitted(f"{label}: memorisation check in feature space", "the data has no feature space"))
    return out
