"""What the sample-quality distances are, in words: the one place tables and figures take their labels from.

``val_fid`` / ``test_fid`` (and the legacy ``fid``) are Fréchet distances and ``*_kid`` kernel distances in
the feature space the trial scored in: by default the 128-d feature layer of genstudy's own classifier
(:mod:`trainables.classifier`), trained on the study's dataset, not the Inception-v3 features Heusel et al.'s
FID uses. Numbers in different feature spaces do not compare, so every table header, axis label and legend
that shows one names its space (:func:`distance_label`: ``FD (MNIST-classifier features, 128-d)``).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from trainables import metric_names as M

CLASSIFIER_FEATURE_DIM = 128  # the feature layer of genstudy's classifier (trainables.classifier.FEATURE_DIM)
INCEPTION_FEATURE_DIM = 2048  # the FID Inception network's pool features
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "digits": "digits", "synthetic": "synthetic-shapes",
                 "stl10": "STL-10", "image_folder": "image-folder"}
INCEPTION_SPACE = f"Inception-v3 pool features, {INCEPTION_FEATURE_DIM}-d"  # the FID Inception network's
FRECHET = (M.VAL_FID, M.TEST_FID, M.LEGACY_FID)
INCEPTION_FRECHET = M.FID_INCEPTION_METRICS  # always in the FID Inception network's features
KERNEL = (M.VAL_KID, M.TEST_KID, M.LEGACY_KID)
# a table column holding a distance: the metric itself, a run's best_<metric>, a confirmation's search_<metric>, or
# the metric with a leaderboard / confirmation suffix (``val_fid_best``, ``test_fid_at_best``, ``val_fid@2``)
_COLUMN = re.compile(r"^(?:search_|best_)?(?P<metric>{})(?:_best|_final|_at_best|_mean|_sd|_confirm_mean|_confirm_sd"
                     r"|@\d+)?$".format("|".join(sorted(FRECHET + KERNEL + INCEPTION_FRECHET, key=len, reverse=True))))


def feature_space(config: Mapping[str, Any]) -> str:
    """``MNIST-classifier features, 128-d`` (the classifier trained on ``config["dataset"]``), or the FID
    Inception network's for a DDPM config with ``fid_features=inception``."""
    if str(config.get("fid_features", "classifier")) == "inception":
        return INCEPTION_SPACE
    dataset = str(config.get("dataset", ""))
    return f"{DATASET_NAMES.get(dataset, dataset)}-classifier features, {CLASSIFIER_FEATURE_DIM}-d"


def distance_label(metric: str, config: Mapping[str, Any]) -> str | None:
    """``FD (MNIST-classifier features, 128-d)`` for a Fréchet-distance metric (``FID (...)`` in the FID Inception
    features), ``KID (...)`` for a kernel distance; None for any other metric."""
    space = feature_space(config)
    if metric in INCEPTION_FRECHET:
        return f"FID ({INCEPTION_SPACE})"
    if metric in FRECHET:
        return f"{'FID' if space == INCEPTION_SPACE else 'FD'} ({space})"
    return f"KID ({space})" if metric in KERNEL else None


def metric_label(metric: str, config: Mapping[str, Any]) -> str:
    """``val_fid: FD (MNIST-classifier features, 128-d)`` for a distance; any other metric's name as it is."""
    label = distance_label(metric, config)
    return metric if label is None else f"{metric}: {label}"


def column_label(column: str, config: Mapping[str, Any]) -> str:
    """A table header: a column holding a distance (``val_fid_best``, ``test_fid_at_best``, ``val_fid@2``) with its
    label after the name; any other column (``val_fid_best_report``, ``fid_features``) as it is."""
    match = _COLUMN.match(column)
    return column if match is None else f"{column}: {distance_label(match['metric'], config)}"
