"""What a trained VAE's latent space says: posterior means, KL per dimension, t-SNE, an RBF-kernel SVM
on the posterior means (a non-linear classifier: it measures what the means separate, not linear separability).

Inference only (the model is loaded from its checkpoint, never trained here). Every function is
deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trainables.images import uint8_to_float

ENCODE_BATCH = 1000
TSNE_ITERATIONS = 500  # 250 of early exaggeration + 250; PCA-initialised 1,000-point maps look settled by then


@torch.no_grad()
def encode(model, images_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Posterior means ``(N, latent)`` and log-variances (None for a plain autoencoder) of uint8 images."""
    model.eval()
    mus, logvars = [], []
    for i in range(0, len(images_u8), ENCODE_BATCH):
        mu, logvar = model.encode(uint8_to_float(torch.from_numpy(np.asarray(images_u8[i:i + ENCODE_BATCH]))))
        mus.append(mu.double().numpy())
        if logvar is not None:
            logvars.append(logvar.double().numpy())
    return np.concatenate(mus), (np.concatenate(logvars) if logvars else None)


def kl_per_dimension(mu: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
    """Mean KL(q(z_j|x) || N(0, 1)) of each latent dimension over the images (nats); for a plain
    autoencoder the variance of each dimension's code instead (an activity measure)."""
    if logvar is None:
        return mu.var(axis=0)
    return (0.5 * (mu**2 + np.exp(logvar) - 1.0 - logvar)).mean(axis=0)


def stratified_indices(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` indices (or all) with every label in its share of ``labels``, sorted."""
    if n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    picked, _ = train_test_split(np.arange(len(labels)), train_size=n, stratify=labels, random_state=seed)
    return np.sort(picked)


def tsne(points: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """2-D Barnes-Hut t-SNE (scikit-learn, PCA initialisation) of ``points``."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = min(perplexity, (len(points) - 1) / 3)  # scikit-learn needs perplexity < n
    # one OpenMP thread: on a shared 2-core machine its spinning threads made it 5x slower (measured)
    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed,
                    max_iter=TSNE_ITERATIONS, n_jobs=1).fit_transform(points.astype(np.float32))


@dataclass(frozen=True)
class SvmResult:
    accuracy: float
    confusion: np.ndarray  # (K, K): rows true label, columns predicted
    report: dict  # scikit-learn's classification_report(output_dict=True)
    n_train: int
    n_test: int
    kernel: str
    c: float
    seconds: float


def svm(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
        c: float = 10.0) -> SvmResult:
    """An RBF-kernel SVM (features standardised) fitted on ``train_x`` and scored on ``test_x``."""
    import time

    from sklearn.metrics import classification_report, confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    start = time.perf_counter()
    clf = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=c, gamma="scale", cache_size=500))
    clf.fit(train_x, train_y)
    pred = clf.predict(test_x)
    labels = np.unique(np.concatenate([train_y, test_y]))
    return SvmResult(
        accuracy=float((pred == test_y).mean()),
        confusion=confusion_matrix(test_y, pred, labels=labels),
        report=classification_report(test_y, pred, labels=labels, output_dict=True, zero_division=0),
        n_train=len(train_x), n_test=len(test_x), kernel="rbf", c=c, seconds=time.perf_counter() - start)
