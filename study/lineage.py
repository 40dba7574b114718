"""Which trial wrote a checkpoint, so a trial continued from another trial's checkpoint knows where it came from.

Population-based training (``--scheduler pbt``) continues a weak trial from a strong trial's checkpoint with a
changed configuration (an exploit). Every checkpoint a study's trial reports carries :data:`ORIGIN_FILE`, naming
the trial that wrote it; a trial that starts from a checkpoint written by another reports that trial and the
checkpoint's report once (:func:`copied_from`), and the study's MLflow callback records it as the trial's lineage.
"""

from __future__ import annotations

import json
from pathlib import Path

from record import schema as S
from trainables.checkpoint import read_config, report_of

ORIGIN_FILE = "origin.json"  # {schema.TRIAL_ID: the Tune trial that wrote the checkpoint}


def mark(checkpoint_dir: str | Path, trial_id: str) -> None:
    (Path(checkpoint_dir) / ORIGIN_FILE).write_text(json.dumps({S.TRIAL_ID: trial_id}))


def copied_from(checkpoint_dir: str | Path, trial_id: str) -> tuple[str, int] | None:
    """(the trial that wrote the checkpoint, its report) when that is not ``trial_id``, else None."""
    path = Path(checkpoint_dir) / ORIGIN_FILE
    if not path.is_file():
        return None
    origin = json.loads(path.read_text()).get(S.TRIAL_ID)
    if not origin or origin == trial_id:
        return None
    return origin, report_of(read_config(checkpoint_dir))
