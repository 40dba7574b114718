"""A study's data as an MLflow dataset input: what fills the runs table's Dataset column.

Every trial (and the study's parent run) logs the same input: the family's data container by name,
its digest and its split sizes, with the folder it was read from as the source. A trial that trains
on the first ``train_size`` training rows says so in its ``train_size`` param; the input names the
data the study loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

from trainables.data import SplitData

CONTEXT_TAG = "mlflow.data.context"  # shown beside the dataset's name in the UI


def dataset_input(data: SplitData, source: Path):
    """The ``mlflow.entities.DatasetInput`` of ``data`` read from folder ``source``.

    Its profile holds the split sizes (``{"splits": {"train": 50000, "val": 10000, "test": 10000},
    "num_rows": 70000}``), the digest is ``data.digest()``.
    """
    from mlflow.entities import Dataset, DatasetInput, InputTag

    sizes = data.split_sizes()
    profile = {"splits": sizes, "num_rows": sum(sizes.values())}
    dataset = Dataset(name=data.name, digest=data.digest(), source_type="local",
                      source=json.dumps({"uri": str(Path(source).resolve())}), profile=json.dumps(profile))
    return DatasetInput(dataset, tags=[InputTag(CONTEXT_TAG, "training")])
