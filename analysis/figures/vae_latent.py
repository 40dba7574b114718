"""VAE latent-space figures: t-SNE of test-set posterior means at two perplexities, and an SVM
trained on training-set posterior means (accuracy, confusion matrix, per-class precision/recall/F1)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from analysis import latents
from analysis.figures.common import Context, html_table
from analysis.items import Figure, Table


def tsne_figure(ctx: Context, mu_test: np.ndarray, y_test: np.ndarray, name: str, label: str) -> Figure:
    o = ctx.options
    idx = latents.stratified_indices(y_test, o.tsne_points, o.seed)
    fig, axes = plt.subplots(1, len(o.tsne_perplexities), figsize=(5.2 * len(o.tsne_perplexities), 4.8), squeeze=False)
    for ax, perplexity in zip(axes.flat, o.tsne_perplexities):
        with ctx.progress.step(f"{label}: t-SNE of {len(idx):,} test latent means, perplexity {perplexity:g}"):
            xy = latents.tsne(mu_test[idx], perplexity, o.seed)
        scatter = ax.scatter(xy[:, 0], xy[:, 1], c=y_test[idx], cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
        ax.set_title(f"perplexity {perplexity:g}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(scatter, ax=axes.ravel().tolist(), ticks=range(10), label="label")
    path = ctx.save(fig, name)
    return Figure(path, f"{label}: t-SNE of test latent means",
                  f"scikit-learn's Barnes-Hut t-SNE ({latents.TSNE_ITERATIONS} iterations, PCA initialisation, seed "
                  f"{o.seed}) of the posterior means of {len(idx):,} test images (a class-stratified sample of the "
                  f"{len(y_test):,}) at perplexities {' and '.join(f'{p:g}' for p in o.tsne_perplexities)}; colour is "
                  "the true label. Distances between clusters in t-SNE are not meaningful.")


def svm_items(ctx: Context, result: latents.SvmResult, name: str, label: str) -> list:
    """The confusion-matrix figure and the per-class table of one SVM result."""
    k = result.confusion.shape[0]
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    norm = result.confusion / np.maximum(result.confusion.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if result.confusion[i, j]:
                ax.text(j, i, str(result.confusion[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(f"test accuracy {result.accuracy:.4f}", fontsize=10)
    fig.colorbar(im, ax=ax, label="share of the true class")
    path = ctx.save(fig, name)
    how = (f"an RBF-kernel SVM (C = {result.c:g}, gamma = 'scale', standardised features) fitted on the posterior means "
           f"of {result.n_train:,} images of the training split (class-stratified; the validation split is not used) and "
           f"evaluated on all {result.n_test:,} images of the test split "
           f"in {result.seconds:.1f} s")
    rows = [{"class": c, "precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"],
             "support": int(v["support"])} for c, v in result.report.items() if isinstance(v, dict) and c.isdigit()]
    return [
        Figure(path, f"{label}: SVM on latent means, confusion matrix",
               f"Counts of test images by true (rows) and predicted (columns) label; colour is the share of the row. "
               f"The classifier is {how}. Test accuracy {result.accuracy:.4f}."),
        Table(f"{label}: SVM per-class precision, recall and F1",
              f"Per-class scores of {how} (scikit-learn's classification_report); also in svm_report.json.",
              html_table(rows), "svm_report.json"),
    ]


def svm_json(result: latents.SvmResult) -> dict:
    """The fields of svm_report.json for one model."""
    per_class = {c: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"], "support": int(v["support"])}
                 for c, v in result.report.items() if isinstance(v, dict) and c.isdigit()}
    return {"accuracy": result.accuracy, "n_train": result.n_train, "n_test": result.n_test,
            "fitted_on": "train split", "accuracy_on": "test split",
            "classifier": {"kind": "SVC", "kernel": result.kernel, "C": result.c, "gamma": "scale", "standardised": True},
            "features": "posterior means (encoder mu) of the images", "per_class": per_class,
            "macro_avg": {k.replace("-score", ""): v for k, v in result.report["macro avg"].items()},
            "confusion_matrix": result.confusion.tolist(), "seconds": result.seconds}
