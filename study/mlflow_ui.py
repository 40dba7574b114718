"""What the MLflow UI shows of a study: the experiment's kind, a saved view of its trials, readable run names.

Measured on the MLflow 3.17 UI (tests/test_mlflow_ui.py drives it in Chromium):

* The experiment tag ``mlflow.experimentKind`` takes ``genai_development`` or ``custom_model_development``
  (model training). 3.17 opens an experiment in the view of the workspace's "GenAI | Model training"
  switch (kept in the browser, default GenAI) whatever the tag says; the URL parameter
  ``workflowType=machine_learning`` sets the switch, so the links genstudy prints carry it. The tag is
  still set: it names the kind in the experiment header and is what earlier 3.x UIs open on.
* The runs table shows a metric or param column only when it is in the table's selected columns, which
  live in the browser (default: Source, Models, Dataset). A *saved view* is an experiment tag
  ``mlflow.sharedViewState.<id>`` holding the selected columns, the sort and the filter; it is listed in
  the runs page's Views menu, and ``viewStateShareKey=<id>`` in the URL opens it. genstudy saves one per
  study: every trial as its own row (the filter leaves the parent run out, so no row is collapsed),
  ranked by the trial's best value of the study metric, with the test metric, the searched parameters,
  status, dataset and model beside it.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from record import schema as S
from trainables.metric_names import best_of

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"  # the UI's other value is "genai_development"
NOTE_TAG = "mlflow.note.content"  # the experiment's description in the UI
VIEW_TAG_PREFIX = "mlflow.sharedViewState."
VIEW_ID = "genstudy-trials"
TRIAL_FILTER = f"tags.{S.TRIAL_ID} LIKE '%'"  # trial runs only: without their parent in the result, none is nested
SHORT_NAMES = {"beta": "β", "latent_dim": "latent", "batch_size": "batch", "label_smoothing": "smooth"}


def experiment_tags(study: str, description: str, metric: str, mode: str, test_metric: str,
                    searched: Sequence[str]) -> dict[str, str]:
    """Tags that make the experiment open as model training, with a saved view of the trials.

    Args:
        searched: the config keys the study samples; they become the view's parameter columns.
    """
    columns = ["attributes.`Dataset`", "attributes.`Models`", f"metrics.`{best_of(metric)}`",
               f"metrics.`{metric}`", f"metrics.`{test_metric}`", f"tags.`{S.STATUS}`", f"tags.`{S.REPORTS_RUN}`",
               *(f"params.`{k}`" for k in searched)]
    state = {"searchFilter": TRIAL_FILTER, "orderByKey": f"metrics.`{best_of(metric)}`",
             "orderByAsc": mode == "min", "selectedColumns": columns}
    view = {"name": f"genstudy: trials by {metric}", "createdAt": int(time.time() * 1000), "state": json.dumps(state)}
    note = (f"{description}\n\nTrials are child runs ranked by `{best_of(metric)}` ({mode}; chosen on the "
            f"validation split, `{test_metric}` reported beside): open the view *{view['name']}* in the Views menu.")
    return {EXPERIMENT_KIND_TAG: MODEL_TRAINING, NOTE_TAG: note, VIEW_TAG_PREFIX + VIEW_ID: json.dumps(view)}


def runs_link(experiment_id: str, base: str = "http://127.0.0.1:5000") -> str:
    """The URL of the saved view of the trials, in the model-training view (``base``: where the UI listens)."""
    return (f"{base.rstrip('/')}/#/experiments/{quote(experiment_id)}/runs?workflowType=machine_learning"
            f"&viewStateShareKey={VIEW_ID}")


def trial_run_name(number: int, config: Mapping[str, Any], keys: Sequence[str], prefix: str = "trial") -> str:
    """``trial-3 β=0.81 latent=12 mlp``: the trial's number and its values of ``keys`` (a string value bare);
    a confirmation run (``prefix="confirm"``) adds its seed."""
    seed = [f"seed={config['seed']}"] if prefix == "confirm" and "seed" in config else []
    return " ".join([f"{prefix}-{number}"] + [_label(k, config[k]) for k in keys if k in config] + seed)


def _label(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    shown = f"{value:.3g}" if isinstance(value, float) else str(value)
    return f"{SHORT_NAMES.get(key, key)}={shown}"
