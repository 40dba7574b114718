"""The study's best model in MLflow: an MLflow PyTorch model, ``.pt2`` programs, and optionally a registry version.

Done once by the driver when a study ends, from the best trial's checkpoint (``model.safetensors`` +
``config.json`` in its run). The family's :class:`trainables.export.Exports` say what is published:
``mlflow.pytorch.log_model`` saves the model as a ``torch.export`` program (MLflow 3's ``pt2`` format:
no pickle, and ``mlflow.pytorch.load_model`` refuses pickled models unless told otherwise) with a
signature and an input example; it is a logged model of the best run (the runs table's Models column),
linked to the run's metrics at the kept checkpoint's step. Every program and script is logged to the run
as ``NAME.pt2`` and ``NAME.pt`` (:func:`trainables.export.write`, which ``analysis.export --models`` uses too).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from record.store import retry
from record.writer import Writer
from trainables.checkpoint import CONFIG_FILE, MODEL_FILE
from trainables.data import SplitData
from trainables.export import Exportable
from trainables.export import write as write_exports
from trainables.families import restore_model
from trainables.family import Family

MODEL_NAME = "model"  # the logged model's name within its run


@dataclass(frozen=True)
class Published:
    model_uri: str  # models:/<model id>
    programs: tuple[str, ...]  # artifact paths of the .pt2 and .pt files on the best run
    registered: str | None = None  # "NAME version N"


def signature(ex: Exportable):
    """Tensor specs of ``ex``'s inputs and outputs, batch dimension -1, from one run of its example."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    with torch.no_grad():
        out = ex.module(*ex.example)
    out = out if isinstance(out, tuple) else (out,)

    def specs(tensors, names):
        names = names if len(names) > 1 else (None,)  # one unnamed tensor: served as a plain array, not a dict
        return Schema([TensorSpec(np.dtype(str(t.dtype).removeprefix("torch.")), (-1, *t.shape[1:]), n)
                       for t, n in zip(tensors, names)])

    return ModelSignature(inputs=specs(ex.example, ex.inputs), outputs=specs(out, ex.outputs))


def restore(writer: Writer, run_id: str, folder: str) -> tuple[torch.nn.Module, object]:
    """The model and typed config of ``run_id``'s kept checkpoint, downloaded into ``folder``."""
    for name in (MODEL_FILE, CONFIG_FILE):
        retry(writer.client.download_artifacts, run_id, name, folder)
    return restore_model(folder)


def publish(writer: Writer, experiment_id: str, run_id: str, step: int, family: Family, data: SplitData,
            register: str | None = None, tags: dict[str, str] | None = None) -> Published | None:
    """Log the best run's model (and its ``.pt2`` programs and ``.pt`` scripts) and register it as ``register``.

    Args:
        step: the report of the kept checkpoint; the logged model carries the run's metrics at it.
    Returns:
        What was published, or None when the family exports nothing.
    """
    if family.publish is None:
        return None
    with tempfile.TemporaryDirectory(prefix="genstudy-publish-") as tmp:
        model, cfg = restore(writer, run_id, tmp)
        exports = family.publish(model, cfg, data)
        ex = exports.model
        example = tuple(t.numpy() for t in ex.example)
        info = writer.log_model(run_id, experiment_id, ex.module, MODEL_NAME, step, signature(ex),
                                example[0] if len(example) == 1 else example,
                                [f"torch=={torch.__version__.split('+')[0]}"], {"summary": ex.summary, **(tags or {})})
        programs = []
        for path in write_exports(exports, Path(tmp) / "exports"):
            writer.artifact(run_id, path)
            programs.append(path.name)
    registered = writer.register(info.model_uri, register, tags or {}) if register else None
    return Published(info.model_uri, tuple(programs), registered)
