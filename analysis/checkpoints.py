"""Loading a trained model back from its MLflow run."""

from __future__ import annotations

import tempfile
from typing import Any

import torch
from torch import nn

from trainables.checkpoint import CONFIG_FILE, MODEL_FILE
from trainables.families import restore_model


def load_model(run_id: str, tracking_uri: str | None = None, device: str | torch.device = "cpu") -> tuple[nn.Module, Any]:
    """Load the best checkpoint of a trial's MLflow run.

    The run holds ``model.safetensors`` (weights, no pickle) and ``config.json`` (family, config,
    image shape, epoch and metrics at that epoch).

    Args:
        run_id: the child run of the trial (a study's parent run tags its best as ``best_run_id``).
        tracking_uri: MLflow URI; default ``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``.
        device: where to put the model.
    Returns:
        ``(model, cfg)``: the model in eval mode and its typed config (e.g. ``VAEConfig``).
    """
    from mlflow.artifacts import download_artifacts

    from record.store import tracking_uri as default_uri

    uri = default_uri(tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        for name in (MODEL_FILE, CONFIG_FILE):
            download_artifacts(run_id=run_id, artifact_path=name, dst_path=tmp, tracking_uri=uri)
        return restore_model(tmp, device)

