"""Sample-quality metrics in a feature space: Fréchet distance, KID, class coverage; optional Inception FID.

The feature space is the penultimate layer of genstudy's own classifier (``trainables/classifier.py``),
trained on the same dataset. Heusel et al. (2017) define FID with the pool features of a specific
Inception-v3 (TensorFlow's 2015-12-05 graph); ``val_fid_inception`` / ``test_fid_inception``
(:func:`fid_inception`, measured once on a kept checkpoint) use that network through torchmetrics' FID
(torch-fidelity's port, TF1-style resizing), and only when torchmetrics, torch-fidelity and the weights
file are all present (never downloaded here): otherwise the metrics are absent, never computed with
another network. The Fréchet distance of its features is computed here, in float64, from
reference statistics made once per study (:func:`frechet_distance`, the formula torchmetrics uses).
All statistics are computed in float64 NumPy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainables import metric_names as M
from trainables.images import uint8_to_float
from trainables.metric_labels import INCEPTION_FEATURE_DIM

# KID: the mean over KID_SUBSETS random subsets of KID_SUBSET_SIZE rows each. torch-fidelity's defaults are
# kid_subsets=100, kid_subset_size=1000, and torchmetrics' KernelInceptionDistance's subsets=100, subset_size=1000;
# we use 10 subsets of 1000 to keep the cost down (three 1000 x 1000 kernel matrices per subset, per split, every
# report). Each subset's estimate is unbiased, so the mean is too; fewer subsets only widen its spread.
KID_SUBSETS = 10
KID_SUBSET_SIZE = 1000
FID_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's port of TF's FID Inception (2015-12-05)
FID_WEIGHTS_ENV = "GENSTUDY_FID_WEIGHTS"  # or a path to that file
INCEPTION_BATCH = 50
INCEPTION_REF_IMAGES = 2000  # images per split in the Inception reference statistics (299 px on a CPU is slow)


@dataclass(frozen=True)
class FeatureStats:
    """Mean ``(D,)`` and covariance ``(D, D)`` of a feature set, plus up to ``KID_SUBSET_SIZE`` rows for KID."""

    mu: np.ndarray
    sigma: np.ndarray
    sample: np.ndarray

    @classmethod
    def of(cls, features: np.ndarray, seed: int = 0) -> "FeatureStats":
        f = np.asarray(features, dtype=np.float64)
        rows = np.random.default_rng(seed).permutation(len(f))[:KID_SUBSET_SIZE * 2]
        return cls(f.mean(axis=0), np.cov(f, rowvar=False), f[np.sort(rows)])

    def to_dict(self) -> dict[str, np.ndarray]:
        return {"mu": self.mu, "sigma": self.sigma, "sample": self.sample}


def sqrtm_psd_product_trace(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr(sqrtm(sigma1 @ sigma2)) for symmetric PSD matrices, without a non-symmetric sqrtm.

    sigma1 @ sigma2 is similar to A = sqrt(sigma1) sigma2 sqrt(sigma1), which is symmetric PSD, so
    the trace is the sum of the square roots of A's eigenvalues (negative round-off clipped to 0).
    """
    w1, v1 = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    a = root1 @ sigma2 @ root1
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((a + a.T) / 2), 0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)): the FID of two Gaussians (>= 0)."""
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    covmean_trace = sqrtm_psd_product_trace(np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64))
    return max(0.0, float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * covmean_trace))


def kernel_inception_distance(x: np.ndarray, y: np.ndarray, n_subsets: int = KID_SUBSETS,
                              subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3, averaged over random subsets."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    total = 0.0
    for _ in range(n_subsets):
        a, b = x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = ((a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3)
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        total += off - 2.0 * kxy.mean()
    return float(total / n_subsets)


def class_coverage(probs: np.ndarray) -> tuple[float, float, int]:
    """(entropy in nats of the predicted-class histogram, mean max-probability, classes predicted).

    A generator covering k classes evenly scores log k; a collapsed one scores 0.
    """
    p = np.asarray(probs, np.float64)
    counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    freq = counts[counts > 0] / counts.sum()
    return float(-(freq * np.log(freq)).sum()), float(p.max(axis=1).mean()), int((counts > 0).sum())


def split_distances(features: np.ndarray, refs: dict[str, FeatureStats]) -> dict[str, float]:
    """``{split}_fid`` and ``{split}_kid`` of generated images' features against each split's reference
    statistics (``refs = {"val": ..., "test": ...}``)."""
    gen = FeatureStats.of(features)
    out: dict[str, float] = {}
    for split, ref in refs.items():
        fid, kid = M.FID_SPLIT_METRICS[split]
        out[fid] = frechet_distance(gen.mu, gen.sigma, ref.mu, ref.sigma)
        out[kid] = kernel_inception_distance(features, ref.sample)
    return out


def sample_metrics(features: np.ndarray, probs: np.ndarray, refs: dict[str, FeatureStats]) -> dict[str, float]:
    """:func:`split_distances` and the class coverage of the samples."""
    entropy, confidence, n_classes = class_coverage(probs)
    return {**split_distances(features, refs), M.CLASS_ENTROPY: entropy, M.SAMPLE_CONFIDENCE: confidence,
            M.CLASSES_COVERED: n_classes}


# --- optional FID with the FID Inception network ---------------------------------------------------
def fid_weights_path() -> Path | None:
    """The FID Inception weights on disk: ``$GENSTUDY_FID_WEIGHTS``, else torch-fidelity's file in the
    torch hub cache (where torchmetrics would download it); None when absent. Never downloaded here."""
    named = os.environ.get(FID_WEIGHTS_ENV)
    path = Path(named) if named else Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS
    return path if path.is_file() else None


def load_fid_inception(device: torch.device) -> torch.nn.Module | None:
    """torchmetrics' FID feature extractor (Inception-v3 with the TF FID weights, 2048-d pool features),
    or None when torchmetrics / torch-fidelity are not installed or the weights are not on disk: then
    ``*_fid_inception`` are not computed at all, rather than computed with another network."""
    path = fid_weights_path()
    if path is None:
        return None
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance

        metric = FrechetInceptionDistance(feature=INCEPTION_FEATURE_DIM, normalize=True, feature_extractor_weights_path=str(path),
                                          antialias=False)  # TF1's bilinear resize, as the original FID code
    except ImportError:  # torchmetrics, or the torch-fidelity it needs for this network, is missing
        return None
    return metric.inception.to(device)


@torch.no_grad()
def inception_features(net: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """Pool features ``(N, 2048)`` of images ``(N, C, H, W)`` in [0, 1], prepared as torchmetrics' FID
    prepares them (``normalize=True``): grey repeated to RGB, scaled to uint8; the network resizes to
    299 px and normalises itself."""
    out = []
    for i in range(0, len(images), INCEPTION_BATCH):
        x = images[i:i + INCEPTION_BATCH].float()
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        out.append(net((x * 255).byte()).double().cpu().numpy())
    return np.concatenate(out)


def fid_inception(net: torch.nn.Module, images: torch.Tensor, data, device: torch.device) -> dict[str, float]:
    """``val_fid_inception`` and ``test_fid_inception``: FID of ``images`` ``(N, C, H, W)`` in [0, 1] to the
    first ``INCEPTION_REF_IMAGES`` validation and test images of ``data`` (uint8 ``x_val`` / ``x_test``), in
    the pool features of ``net`` (from :func:`load_fid_inception`)."""
    gen = FeatureStats.of(inception_features(net, images))
    out = {}
    for split, name in M.FID_INCEPTION_SPLIT_METRICS.items():
        real = torch.from_numpy(np.array(getattr(data, f"x_{split}")[:INCEPTION_REF_IMAGES])).to(device)
        ref = FeatureStats.of(inception_features(net, uint8_to_float(real)))
        out[name] = frechet_distance(gen.mu, gen.sigma, ref.mu, ref.sigma)
    return out
