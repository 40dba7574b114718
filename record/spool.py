"""MLflow writes kept on local disk while the tracking store is unreachable, and written later, in order.

A spool is a folder: ``writes-<pid>-<n>.jsonl`` (one JSON line per write: the client method, the run id,
the arguments) and the files those writes need (image grids, artifacts), copied in. When the store is
back, :func:`replay` makes the writes in the order they were spooled and removes what it wrote.
``python -m record.replay SPOOL --tracking-uri URI`` does it by hand; ``study.run --resume`` does it first.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

FILE_GLOB = "writes-*.jsonl"
ARTIFACT_METHODS = ("log_artifact", "log_artifacts")  # their first argument is a local path to copy
_COUNTER = itertools.count()


class Spool:
    """Appends one writer's spooled writes to a file of its own in ``folder``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / f"writes-{os.getpid()}-{next(_COUNTER)}-{uuid.uuid4().hex[:8]}.jsonl"
        self.count = 0

    def append(self, run_id: str, method: str, args: tuple, kwargs: dict) -> None:
        """Keep ``client.method(run_id, *args, **kwargs)`` for later (files it names are copied in)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if method in ARTIFACT_METHODS:  # the local file or folder: a copy, since its temporary folder goes
            args = (self._copy(args[0]), *args[1:])
        line = {"run_id": run_id, "method": method, "args": [self._encode(a) for a in args],
                "kwargs": {k: self._encode(v) for k, v in kwargs.items()}}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.count += 1

    def _encode(self, value: Any) -> Any:
        from mlflow.entities import DatasetInput, Metric, Param, RunTag

        if isinstance(value, Metric):
            return {"__entity__": "Metric", "value": value.to_dictionary()}
        if isinstance(value, (Param, RunTag)):
            return {"__entity__": type(value).__name__, "value": {"key": value.key, "value": value.value}}
        if isinstance(value, DatasetInput):
            return {"__dataset_input__": base64.b64encode(value.to_proto().SerializeToString()).decode()}
        if isinstance(value, (list, tuple)):
            return [self._encode(v) for v in value]
        if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image (log_image)
            name = f"{uuid.uuid4().hex}.png"
            value.save(self.folder / name)
            return {"__image__": name}
        return value

    def _copy(self, path: str | Path) -> dict[str, str]:
        name = f"{uuid.uuid4().hex}-{Path(path).name}"
        (shutil.copytree if Path(path).is_dir() else shutil.copy2)(path, self.folder / name)
        return {"__file__": name}


def _decode(value: Any, folder: Path) -> Any:
    from mlflow.entities import DatasetInput, Metric, Param, RunTag
    from mlflow.protos.service_pb2 import DatasetInput as ProtoDatasetInput

    if isinstance(value, list):
        return [_decode(v, folder) for v in value]
    if not isinstance(value, dict):
        return value
    if "__entity__" in value:
        kind, fields = value["__entity__"], value["value"]
        if kind == "Metric":
            return Metric.from_dictionary(fields)
        return {"Param": Param, "RunTag": RunTag}[kind](fields["key"], fields["value"])
    if "__dataset_input__" in value:
        return DatasetInput.from_proto(ProtoDatasetInput.FromString(base64.b64decode(value["__dataset_input__"])))
    if "__image__" in value:
        from PIL import Image

        with Image.open(folder / value["__image__"]) as image:
            image.load()
            return image.copy()
    if "__file__" in value:
        return str(folder / value["__file__"])
    return value


def pending(folder: str | Path) -> int:
    """How many writes wait in the spool ``folder`` (0 when it does not exist)."""
    return sum(len(p.read_text().splitlines()) for p in sorted(Path(folder).glob(FILE_GLOB)))


def replay(folder: str | Path, client, call: Callable[..., Any]) -> int:
    """Make every spooled write in ``folder``, file by file in the order they were written, with
    ``call(fn, *args, **kwargs)`` (a retrying caller); returns how many. A write that fails stops the replay
    (raised) and the unwritten lines stay; the ones written are removed, so a second replay continues."""
    folder = Path(folder)
    done = 0
    for path in sorted(folder.glob(FILE_GLOB), key=lambda p: p.stat().st_mtime):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, text in enumerate(lines):
            op = json.loads(text)
            args = [_decode(a, folder) for a in op["args"]]
            kwargs = {k: _decode(v, folder) for k, v in op["kwargs"].items()}
            try:
                call(getattr(client, op["method"]), op["run_id"], *args, **kwargs)
            except BaseException:
                path.write_text("".join(line + "\n" for line in lines[i:]), encoding="utf-8")
                raise
            done += 1
        path.unlink()
    if not any(folder.glob(FILE_GLOB)):
        shutil.rmtree(folder, ignore_errors=True)  # the copied files went with their writes
    return done
